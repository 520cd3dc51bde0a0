use proptest::prelude::*;

use super::*;

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The RFC 6962 reference leaves (certificate-transparency test data).
fn reference_leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|d| leaf_hash(&hex::decode(d).unwrap()))
    .collect()
}

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_match_the_reference_vectors() {
    let leaves = reference_leaves();
    for n in 0..=8 {
        assert_eq!(root(&leaves[..n]), h(ROOTS[n]), "size {n}");
        let mut range = CompactRange::default();
        for leaf in &leaves[..n] {
            range.push(*leaf);
        }
        assert_eq!(range.root(), h(ROOTS[n]), "compact range, size {n}");
    }
}

#[test]
fn inclusion_proofs_match_the_reference_vectors() {
    let leaves = reference_leaves();
    let cases: [(usize, &[&str]); 2] = [
        (
            0,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, expected) in cases {
        let proof = inclusion_proof(index, &leaves).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(proof, expected, "leaf {index}");
        assert!(verify_inclusion(
            index as u64,
            8,
            &leaves[index],
            &proof,
            &h(ROOTS[8])
        ));
    }
}

#[test]
fn consistency_proofs_match_the_reference_vectors() {
    let leaves = reference_leaves();
    let cases: [(usize, usize, &[&str]); 3] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, expected) in cases {
        let proof = consistency_proof(m, &leaves[..n]).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(proof, expected, "{m} -> {n}");
        assert!(verify_consistency(
            m as u64,
            n as u64,
            &h(ROOTS[m]),
            &h(ROOTS[n]),
            &proof
        ));
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
        .collect()
}

proptest! {
    #[test]
    fn every_inclusion_proof_verifies_and_a_changed_leaf_does_not(n in 1usize..70, pick in any::<prop::sample::Index>()) {
        let l = leaves(n);
        let r = root(&l);
        let i = pick.index(n);
        let proof = inclusion_proof(i, &l).unwrap();
        prop_assert!(verify_inclusion(i as u64, n as u64, &l[i], &proof, &r));
        let forged = leaf_hash(b"forged");
        prop_assert!(!verify_inclusion(i as u64, n as u64, &forged, &proof, &r));
        if n > 1 {
            prop_assert!(!verify_inclusion(((i + 1) % n) as u64, n as u64, &l[i], &proof, &r));
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewritten_prefix_does_not(n in 1usize..70, pick in any::<prop::sample::Index>()) {
        let l = leaves(n);
        let m = pick.index(n) + 1;
        let proof = consistency_proof(m, &l).unwrap();
        prop_assert!(verify_consistency(m as u64, n as u64, &root(&l[..m]), &root(&l), &proof));
        let mut rewritten = l.clone();
        rewritten[m - 1] = leaf_hash(b"rewritten");
        prop_assert!(!verify_consistency(m as u64, n as u64, &root(&rewritten[..m]), &root(&l), &proof));
    }

    #[test]
    fn the_compact_range_agrees_with_the_recursive_root(n in 0usize..200) {
        let l = leaves(n);
        let mut range = CompactRange::default();
        for leaf in &l {
            range.push(*leaf);
        }
        prop_assert_eq!(range.root(), root(&l));
        prop_assert_eq!(range.size(), n as u64);
    }

    #[test]
    fn compact_ranges_built_apart_and_appended_agree_with_the_root(
        blocks in 0usize..6, block_height in 0u32..5, rest in 0usize..40,
    ) {
        // Whole blocks of 2^h leaves, then a partial one: the way `verify`
        // splits the log over threads.
        let block = 1usize << block_height;
        let n = blocks * block + rest.min(block);
        let l = leaves(n);
        let mut whole = CompactRange::default();
        for part in l.chunks(block) {
            let mut range = CompactRange::default();
            for leaf in part {
                range.push(*leaf);
            }
            prop_assert!(whole.append(&range));
        }
        prop_assert_eq!(whole.root(), root(&l));
        prop_assert_eq!(whole.size(), n as u64);
    }

    #[test]
    fn a_misaligned_compact_range_is_refused(n in 1usize..64) {
        // A size that is not a multiple of the appended range's size.
        let mut first = CompactRange::default();
        for leaf in leaves(2 * n + 1) {
            first.push(leaf);
        }
        let mut next = CompactRange::default();
        for leaf in leaves(2) {
            next.push(leaf);
        }
        let before = first.root();
        prop_assert!(!first.append(&next));
        prop_assert_eq!(first.root(), before);
    }

    #[test]
    fn proofs_from_tiles_equal_proofs_from_all_leaves(n in 1usize..1200, pick in any::<prop::sample::Index>()) {
        let l = leaves(n);
        let index = pick.index(n);
        let tile = index / TILE_SIZE;
        let tile_leaves = &l[tile * TILE_SIZE..((tile + 1) * TILE_SIZE).min(n)];
        let tile_roots: Vec<Hash> = l.chunks(TILE_SIZE).map(root).collect();
        prop_assert_eq!(
            inclusion_proof_from_tiles(index, tile_leaves, &tile_roots),
            inclusion_proof(index, &l)
        );
        // A compact range built from tile roots has the same root.
        let mut range = CompactRange::default();
        for (i, chunk) in l.chunks(TILE_SIZE).enumerate() {
            if chunk.len() == TILE_SIZE {
                prop_assert!(range.push_subtree(TILE_HEIGHT, tile_roots[i]));
            } else {
                for leaf in chunk {
                    range.push(*leaf);
                }
            }
        }
        prop_assert_eq!(range.root(), root(&l));
    }
}
