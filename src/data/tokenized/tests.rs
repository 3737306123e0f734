use super::*;

fn corpus(docs: usize) -> TokenizedCorpus {
    let mut c = TokenizedCorpus::default();
    for d in 0..docs {
        let sentences: Vec<Vec<u32>> = (0..3 + d % 4)
            .map(|s| {
                (0..1 + (d + s) % 5)
                    .map(|p| (1000 * d + 10 * s + p) as u32)
                    .collect()
            })
            .collect();
        c.push_document(sentences.iter().map(Vec::as_slice));
    }
    c
}

/// `c` written as a store file and mapped back.
fn mapped(c: &TokenizedCorpus) -> TokenizedCorpus {
    let rows = RowCounts {
        rows: 9,
        empty_rows: 2,
    };
    let file = c.write_store(tempfile::tempfile().unwrap(), rows).unwrap();
    let (m, back) = TokenizedCorpus::map(&file).unwrap();
    assert_eq!(back, rows);
    m
}

/// Sentences of every document, as owned ids.
fn contents(c: &TokenizedCorpus) -> Vec<Vec<Vec<u32>>> {
    (0..c.num_documents())
        .map(|d| c.document(d).map(<[u32]>::to_vec).collect())
        .collect()
}

#[test]
fn offsets_address_documents_and_sentences() {
    let mut c = TokenizedCorpus::default();
    for d in 0..4u32 {
        c.push_document([&[10 + d, 100][..], &[10 + d, 101], &[10 + d, 102]]);
    }
    c.push_document([&[][..]]); // nothing: skipped
    assert_eq!(
        (c.num_documents(), c.num_sentences(), c.num_tokens()),
        (4, 12, 24)
    );
    let doc2: Vec<&[u32]> = c.document(2).collect();
    assert_eq!(doc2, vec![&[12, 100][..], &[12, 101], &[12, 102]]);
}

#[test]
fn a_mapped_store_holds_what_was_built_in_memory() {
    let heap = corpus(57);
    let m = mapped(&heap);
    assert!(m.is_mapped() && !heap.is_mapped());
    assert_eq!(contents(&m), contents(&heap));
    assert_eq!(
        (m.num_documents(), m.num_sentences(), m.num_tokens()),
        (
            heap.num_documents(),
            heap.num_sentences(),
            heap.num_tokens()
        )
    );
    assert!(m.tokens().eq(heap.tokens()));
    // An odd token count puts padding before the offsets.
    let mut odd = TokenizedCorpus::default();
    odd.push_document([&[7u32, 8, 9][..]]);
    odd.push_document([&[4u32, 5, 6, 7][..], &[1][..]]);
    assert_eq!(odd.num_tokens() % 2, 0);
    odd.push_document([&[3u32][..]]);
    assert_eq!(contents(&mapped(&odd)), contents(&odd));
}

#[test]
fn the_split_over_a_map_is_the_heap_split_and_copies_nothing() {
    let heap = corpus(40);
    let m = mapped(&heap);
    let (train, held) = m.split(0.1, 7).unwrap();
    let (heap_train, heap_held) = heap.split(0.1, 7).unwrap();
    assert_eq!(contents(&train), contents(&heap_train));
    assert_eq!(contents(&held), contents(&heap_held));
    assert!(Arc::ptr_eq(&train.store, &m.store) && Arc::ptr_eq(&held.store, &m.store));
    assert_eq!(train.num_tokens() + held.num_tokens(), m.num_tokens());
    assert_eq!(
        train.num_sentences() + held.num_sentences(),
        m.num_sentences()
    );
}

#[test]
fn split_is_by_document_disjoint_and_seeded() {
    let c = corpus(40);
    let (train, held) = c.split(0.1, 7).unwrap();
    assert_eq!((train.num_documents(), held.num_documents()), (36, 4));
    let first = |c: &TokenizedCorpus| -> Vec<u32> {
        (0..c.num_documents())
            .map(|d| c.document(d).next().unwrap()[0])
            .collect()
    };
    let (t, h) = (first(&train), first(&held));
    assert!(
        h.iter().all(|d| !t.contains(d)),
        "a document is on both sides"
    );
    assert_eq!(c.split(0.1, 7).unwrap().1, held, "same seed, same split");
    assert_ne!(
        first(&c.split(0.1, 8).unwrap().1),
        h,
        "another seed, another split"
    );
}

#[test]
fn damage_is_refused() {
    let mut file = corpus(7)
        .write_store(tempfile::tempfile().unwrap(), RowCounts::default())
        .unwrap();
    let path = tempfile::NamedTempFile::new().unwrap();
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut file).unwrap();
    std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
    let try_map = |b: &[u8]| {
        std::fs::write(path.path(), b).unwrap();
        TokenizedCorpus::map(&std::fs::File::open(path.path()).unwrap())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    assert!(try_map(&bytes[..bytes.len() - 1]).contains("truncated"));
    let mut bad = bytes.clone();
    let last = bad.len() - 8;
    bad[last] = 0xff; // final document offset
    assert!(try_map(&bad).contains("checksum"));
}

#[test]
fn too_small_a_corpus_is_refused() {
    let msg = corpus(10).split(0.05, 1).unwrap_err().to_string();
    assert!(msg.contains("10 documents"), "{msg}");
}

#[test]
fn repeated_documents_and_held_out_copies_of_training_ones_are_counted() {
    let mut c = TokenizedCorpus::default();
    // Documents 0..10 distinct; 10..40 thirty copies of document 3 (three sentences).
    for d in 0..10u32 {
        c.push_document([&[10 + d, 100][..], &[10 + d, 101]]);
    }
    for _ in 0..30 {
        c.push_document([&[13u32, 100][..], &[13, 101]]);
    }
    // The same tokens split into other sentences are the same text.
    c.push_document([&[13u32][..], &[100, 13, 101]]);
    let (train, heldout) = c.split(0.25, 7).unwrap();
    let found = train.duplicates(&heldout);
    let copies_of_3 = |v: &TokenizedCorpus| {
        (0..v.num_documents())
            .filter(|&d| {
                let (s, e) = v.document_range(d);
                v.span(s, (e - s) as usize) == [13, 100, 13, 101]
            })
            .count()
    };
    let (in_train, in_heldout) = (copies_of_3(&train), copies_of_3(&heldout));
    assert_eq!(in_train + in_heldout, 32);
    assert_eq!(found.train_copies, in_train.saturating_sub(1));
    assert_eq!(found.heldout_copies, in_heldout.saturating_sub(1));
    assert_eq!(
        found.heldout_in_train,
        if in_train > 0 { in_heldout } else { 0 }
    );
    assert_eq!(found.heldout_documents, heldout.num_documents());
    assert!(found.warning().unwrap().contains("also occur in training"));
    // A corpus without copies says nothing.
    let mut clean = TokenizedCorpus::default();
    for d in 0..12u32 {
        clean.push_document([&[10 + d, 100][..]]);
    }
    let (t, h) = clean.split(0.25, 7).unwrap();
    assert_eq!(t.duplicates(&h).warning(), None);
}
