-- The root of every complete, aligned block of 256 audit records (a tile),
-- kept by the tree-head issuer. Derived data: proofs built from tiles are
-- checked against signed heads, and `hippo audit verify` recomputes all.
CREATE TABLE tree_tiles (
    idx   BIGINT PRIMARY KEY NOT NULL,
    root  BYTEA NOT NULL
);
