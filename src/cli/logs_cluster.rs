//! `hunch logs cluster`: one cluster id per line of stdin, as fast as the machine allows.
//!
//! stdin is read in blocks that end at a line break; the blocks are masked on every core
//! at once, each worker keeping its own signature table (no lock per line); the tables
//! are joined and grouped once at the end; ids are written from a table of their
//! decimal forms, so no line is formatted. Memory is four bytes per line (its
//! signature id) plus the distinct signatures and a few blocks in flight.

use anyhow::{Context, Result};
use hunch::analysis::templates::{LineClusters, PartSignatures};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Bytes read from stdin at a time.
const BLOCK: usize = 1 << 20;
/// Blocks read ahead of the workers: bounds the memory the reader can take.
const IN_FLIGHT: usize = 4;

/// A block of whole lines and its place in the stream.
type Block = (usize, Vec<u8>);
/// A masked block: its place, the worker that masked it, its lines' local ids.
type Masked = (usize, usize, Vec<u32>);

/// Cluster stdin's lines; print each line's id (and, with `templates`, its template).
pub(super) fn cluster(templates: bool, max_line: usize) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (blocks, inbox) = mpsc::sync_channel::<Block>(IN_FLIGHT);
    let inbox = Arc::new(Mutex::new(inbox));
    let (masked_tx, masked_rx) = mpsc::channel::<Masked>();
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let inbox = Arc::clone(&inbox);
            let masked_tx = masked_tx.clone();
            std::thread::spawn(move || mask_blocks(worker, &inbox, &masked_tx, max_line))
        })
        .collect();
    drop(masked_tx);
    read_blocks(&mut std::io::stdin().lock(), &blocks)?;
    drop(blocks);
    let parts: Vec<PartSignatures> = handles
        .into_iter()
        .map(|h| h.join().expect("a masking worker panicked"))
        .collect();
    let mut masked: Vec<Masked> = masked_rx.into_iter().collect();
    masked.sort_unstable_by_key(|m| m.0);
    let mut clusters = LineClusters::default();
    let maps: Vec<Vec<u32>> = parts.into_iter().map(|p| clusters.absorb(p)).collect();
    for (_, worker, ids) in masked {
        let map = &maps[worker];
        clusters.extend_ids(ids.into_iter().map(|id| map[id as usize]));
    }
    write_ids(&clusters.finish(), templates)
}

/// Read stdin into blocks of whole lines (a line longer than a block is cut at it).
fn read_blocks(input: &mut impl Read, blocks: &mpsc::SyncSender<Block>) -> Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut overlong = false;
    for index in 0.. {
        let mut block = Vec::with_capacity(BLOCK + carry.len());
        block.append(&mut carry);
        let start = block.len();
        input
            .by_ref()
            .take(BLOCK as u64)
            .read_to_end(&mut block)
            .context("reading stdin")?;
        let filled = block.len();
        if overlong {
            // The rest of a line longer than a block was cut: drop it.
            match memchr::memchr(b'\n', &block) {
                Some(end) => {
                    block.drain(..=end);
                    overlong = false;
                }
                None => block.clear(),
            }
        }
        let eof = filled < start + BLOCK;
        if !eof {
            match memchr::memrchr(b'\n', &block) {
                Some(end) => {
                    carry.extend_from_slice(&block[end + 1..]);
                    block.truncate(end + 1);
                }
                None => overlong = !block.is_empty(),
            }
        }
        if block.is_empty() && !eof {
            continue;
        }
        if block.is_empty() {
            break;
        }
        if blocks.send((index, block)).is_err() || eof {
            break;
        }
    }
    Ok(())
}

/// A worker: mask the blocks it takes into its own signature table.
fn mask_blocks(
    worker: usize,
    inbox: &Mutex<mpsc::Receiver<Block>>,
    masked: &mpsc::Sender<Masked>,
    max_line: usize,
) -> PartSignatures {
    let mut part = PartSignatures::default();
    loop {
        let next = inbox.lock().expect("the block queue").recv();
        let Ok((index, block)) = next else {
            return part;
        };
        let body = block.strip_suffix(b"\n").unwrap_or(&block);
        let mut ids = Vec::with_capacity(body.len() / 64 + 1);
        // One UTF-8 check for the block; a block with bad bytes is read line by line.
        let text = std::str::from_utf8(body).ok();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
        for end in ends {
            let mut cut = end.min(start + max_line);
            if let Some(text) = text {
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                let line = &text[start..cut];
                ids.push(part.add(line.strip_suffix('\r').unwrap_or(line)));
            } else {
                let line = &body[start..cut];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                ids.push(part.add(&String::from_utf8_lossy(line)));
            }
            start = end + 1;
        }
        if masked.send((index, worker, ids)).is_err() {
            return part;
        }
    }
}

/// Each line's id (and template), from a table of what each id prints as.
fn write_ids(clustered: &hunch::analysis::templates::Clustered, templates: bool) -> Result<()> {
    let shown: Vec<Vec<u8>> = clustered
        .templates
        .iter()
        .enumerate()
        .map(|(id, template)| {
            if templates {
                format!("{id}\t{template}\n").into_bytes()
            } else {
                format!("{id}\n").into_bytes()
            }
        })
        .collect();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for &id in &clustered.ids {
        out.write_all(&shown[id as usize])?;
    }
    out.flush().context("writing the output")
}
