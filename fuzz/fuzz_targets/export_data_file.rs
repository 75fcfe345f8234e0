//! Import data files (`formats/export`): arbitrary bytes as a gzip, zstd or plain data file
//! never panic the reader; every line yields an item or an error naming the file, and an item
//! read is valid (it passed `Item::validate`).
#![no_main]

use std::path::Path;
use std::sync::Arc;

use ddb_export::{Compression, ImportSource};
use ddb_io::{Io, OpenOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let compression = match selector % 3 {
        0 => Compression::Gzip,
        1 => Compression::Zstd,
        _ => Compression::None,
    };
    let io: Arc<dyn Io> = Arc::new(ddb_io::sim::SimIo::new(1));
    let dir = Path::new("/bucket");
    io.create_dir_all(dir).expect("sim dir");
    let file = io
        .open(&dir.join("part.json.gz"), OpenOptions::create_new())
        .expect("sim file");
    file.write_all_at(bytes, 0).expect("sim write");
    drop(file);
    let source = ImportSource::open(Arc::clone(&io), dir, None, compression).expect("one file");
    for line in source.items() {
        match line {
            Ok(item) => {
                item.item.validate().expect("items read are valid");
                assert_eq!(item.file, "part.json.gz");
            }
            Err(e) => assert_eq!(e.file, "part.json.gz", "{e}"),
        }
    }
});
