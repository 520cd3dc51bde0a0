//! RFC 9162 §2.1 Merkle tree hashing over SHA-256.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// MTH({}) = SHA-256().
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]): the audit path of leaf `index`. `None` if out of range.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    path(index, leaves, &mut proof);
    Some(proof)
}

fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &leaves[..k], out);
        out.push(root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(root(&leaves[..k]));
    }
}

/// Leaves per tile: the log keeps the root of every complete, aligned block
/// of 2^8 leaves, so that proofs and restarts need O(n / 256) stored
/// hashes instead of all n leaves.
pub const TILE_HEIGHT: u32 = 8;
pub const TILE_SIZE: usize = 1 << TILE_HEIGHT;

/// PATH(m, D[n]) from tiles: `tile_leaves` are the leaves of the tile that
/// holds leaf `index` (a partial tile if it is the last), `tile_roots` the
/// roots of all tiles of the tree (complete ones, then the partial last
/// one's root, if any). Equal to [`inclusion_proof`] over all leaves: for
/// tree sizes above one tile, RFC 9162 splits at multiples of the tile
/// size, so the tree over tile roots is the upper part of the tree.
pub fn inclusion_proof_from_tiles(
    index: usize,
    tile_leaves: &[Hash],
    tile_roots: &[Hash],
) -> Option<Vec<Hash>> {
    let mut proof = inclusion_proof(index % TILE_SIZE, tile_leaves)?;
    proof.extend(inclusion_proof(index / TILE_SIZE, tile_roots)?);
    Some(proof)
}

/// RFC 9162 §2.1.3.2: verify that `leaf` is at `index` in the tree of
/// `size` leaves with root `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// PROOF(m, D[n]): consistency between the first `m` leaves and all.
pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if m == 0 || m > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    subproof(m, leaves, true, &mut proof);
    Some(proof)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// RFC 9162 §2.1.4.2: verify that the tree of `size1` leaves with root
/// `root1` is a prefix of the tree of `size2` leaves with root `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> bool {
    if size1 == 0 || size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if size1.is_power_of_two() {
        proof.insert(0, *root1);
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *root1 && sr == *root2
}

/// The roots of the perfect subtrees covering the leaves appended so far,
/// largest first: enough to compute the current root in O(log n) and to
/// append in amortised O(1), so the server never re-hashes the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// (height, root) of each perfect subtree, largest first.
    peaks: Vec<(u32, Hash)>,
}

impl CompactRange {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.peaks.last() {
            if height != node.0 {
                break;
            }
            self.peaks.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// Append a perfect subtree of 2^`height` leaves with root `root`;
    /// `false` (and nothing changes) unless the range's size is a multiple
    /// of 2^`height`.
    pub fn push_subtree(&mut self, height: u32, root: Hash) -> bool {
        let next = CompactRange {
            size: 1 << height,
            peaks: vec![(height, root)],
        };
        self.size.is_multiple_of(1 << height) && self.append(&next)
    }

    /// Append `next`, a compact range of the leaves that follow this one's,
    /// built on its own (e.g. by another thread). Every perfect subtree
    /// of `next` must be aligned in the whole tree, which holds when this
    /// range's size is a multiple of a power of two at least `next.size()`;
    /// returns `false` (and changes nothing) otherwise.
    pub fn append(&mut self, next: &CompactRange) -> bool {
        // The largest power of two dividing this size: `next` fits under it.
        let alignment = 1u64 << self.size.trailing_zeros().min(63);
        if self.size != 0 && next.size > alignment {
            return false;
        }
        for &(height, root) in &next.peaks {
            let mut node = (height, root);
            while let Some(&(h, left)) = self.peaks.last() {
                if h != node.0 {
                    break;
                }
                self.peaks.pop();
                node = (h + 1, node_hash(&left, &node.1));
            }
            self.peaks.push(node);
            self.size += 1u64 << height;
        }
        true
    }

    /// MTH of everything pushed so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(&(_, last)) = iter.next() else {
            return empty_root();
        };
        iter.fold(last, |acc, (_, left)| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests;
