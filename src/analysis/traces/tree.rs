//! One finished trace as a tree: parents joined to children, each span's self time, and
//! the critical path.
//!
//! *Self time* is a span's duration minus the union of its children's intervals (clipped
//! to the span), so parallel children are not subtracted twice. The *critical path*
//! follows Jaeger's definition: walking back from a span's end, the child that finished
//! last before the cursor is on the path, the cursor jumps to that child's start, and
//! whatever time no child covers is the span's own. A trace's spans arrive in any order
//! and across many export lines; the tree is built only once the trace is closed.

use super::spans::Kind;

/// A span as a trace holds it: 48 bytes, names as interned numbers.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub id: u64,
    /// 0 for none.
    pub parent: u64,
    pub start: i64,
    pub end: i64,
    pub service: u32,
    pub op: u32,
    pub kind: Kind,
    pub error: bool,
}

impl Span {
    pub fn duration(&self) -> i64 {
        self.end - self.start
    }
}

const NONE: u32 = u32::MAX;
/// How deep a critical path is followed (a runaway recursion guard).
const MAX_DEPTH: u32 = 512;

/// A trace's spans, sorted by id, with parent links and children lists.
pub struct Tree {
    pub spans: Vec<Span>,
    parent: Vec<u32>,
    /// Children of span `i`: `children[first[i]..first[i + 1]]`, by start time.
    first: Vec<u32>,
    children: Vec<u32>,
}

impl Tree {
    /// Join a trace's spans; a span whose id repeats is kept once.
    pub fn new(mut spans: Vec<Span>) -> Tree {
        spans.sort_unstable_by_key(|s| s.id);
        spans.dedup_by_key(|s| s.id);
        let parent: Vec<u32> = spans
            .iter()
            .map(|s| match s.parent {
                0 => NONE,
                p => spans
                    .binary_search_by_key(&p, |x| x.id)
                    .map_or(NONE, |i| i as u32),
            })
            .collect();
        let mut first = vec![0u32; spans.len() + 1];
        for &p in parent.iter().filter(|&&p| p != NONE) {
            first[p as usize + 1] += 1;
        }
        for i in 0..spans.len() {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut children = vec![0u32; *first.last().unwrap_or(&0) as usize];
        for (child, &p) in parent.iter().enumerate().filter(|(_, p)| **p != NONE) {
            children[fill[p as usize] as usize] = child as u32;
            fill[p as usize] += 1;
        }
        for i in 0..spans.len() {
            let range = first[i] as usize..first[i + 1] as usize;
            children[range].sort_unstable_by_key(|&c| spans[c as usize].start);
        }
        Tree {
            spans,
            parent,
            first,
            children,
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The parent span's index, when it is in the trace.
    pub fn parent(&self, i: usize) -> Option<usize> {
        (self.parent[i] != NONE).then_some(self.parent[i] as usize)
    }

    /// Whether the span names a parent that never arrived.
    pub(crate) fn is_orphan(&self, i: usize) -> bool {
        self.spans[i].parent != 0 && self.parent[i] == NONE
    }

    pub(crate) fn children(&self, i: usize) -> &[u32] {
        &self.children[self.first[i] as usize..self.first[i + 1] as usize]
    }

    /// The span's duration minus the union of its children's (clipped) intervals.
    pub(crate) fn self_time(&self, i: usize) -> i64 {
        let span = &self.spans[i];
        let mut covered = 0;
        let mut reach = span.start;
        for &c in self.children(i) {
            let child = &self.spans[c as usize];
            let (from, to) = (child.start.max(reach), child.end.min(span.end));
            if to > from {
                covered += to - from;
                reach = to;
            }
        }
        (span.duration() - covered).max(0)
    }

    /// Whether a child of span `i` runs in another service.
    pub(crate) fn has_remote_child(&self, i: usize) -> bool {
        let service = self.spans[i].service;
        self.children(i)
            .iter()
            .any(|&c| self.spans[c as usize].service != service)
    }

    /// The root: the longest span without a parent, if any.
    pub fn root(&self) -> Option<usize> {
        (0..self.len())
            .filter(|&i| self.spans[i].parent == 0)
            .max_by_key(|&i| (self.spans[i].duration(), std::cmp::Reverse(i)))
    }

    /// The critical path from span `root`, in call order.
    pub(crate) fn critical_path(&self, root: usize) -> Vec<PathSpan> {
        let mut out = Vec::new();
        self.walk(root, self.spans[root].end, 0, &mut out);
        out
    }

    fn walk(&self, i: usize, until: i64, depth: u32, out: &mut Vec<PathSpan>) {
        let span = &self.spans[i];
        let at = out.len();
        out.push(PathSpan {
            span: i as u32,
            depth,
            on_path: 0,
        });
        let mut cursor = span.end.min(until);
        let mut own = 0;
        if depth < MAX_DEPTH {
            let mut kids: Vec<u32> = self.children(i).to_vec();
            kids.sort_unstable_by_key(|&c| std::cmp::Reverse(self.spans[c as usize].end));
            // Children run backwards from the cursor; collected first, walked in call order.
            let mut chosen = Vec::new();
            for c in kids {
                let child = &self.spans[c as usize];
                if child.start >= cursor || cursor <= span.start {
                    continue;
                }
                let end = child.end.min(cursor);
                own += cursor - end;
                chosen.push((c as usize, end));
                cursor = child.start.max(span.start);
            }
            for (c, end) in chosen.into_iter().rev() {
                self.walk(c, end, depth + 1, out);
            }
        }
        own += (cursor - span.start).max(0);
        out[at].on_path = own;
    }
}

/// A span on a critical path: its index in the tree, its depth, and the nanoseconds of
/// the path it holds itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PathSpan {
    pub span: u32,
    pub depth: u32,
    pub on_path: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u64, parent: u64, start: i64, end: i64, service: u32) -> Span {
        Span {
            id,
            parent,
            start,
            end,
            service,
            op: 0,
            kind: Kind::Internal,
            error: false,
        }
    }

    #[test]
    fn self_time_subtracts_the_union_of_overlapping_children() {
        let tree = Tree::new(vec![
            span(3, 1, 20, 60, 1),
            span(1, 0, 0, 100, 0),
            span(2, 1, 10, 50, 1),
            span(4, 9, 0, 5, 2),
        ]);
        let root = tree.root().unwrap();
        assert_eq!(tree.spans[root].id, 1);
        assert_eq!(tree.self_time(root), 100 - 50);
        assert!(tree.has_remote_child(root));
        let orphan = tree.spans.iter().position(|s| s.id == 4).unwrap();
        assert!(tree.is_orphan(orphan));
    }

    #[test]
    fn the_critical_path_follows_the_last_finishing_child() {
        // root 0..100 calls a (10..40) then b (45..90); c (50..60) runs in parallel with b.
        let tree = Tree::new(vec![
            span(1, 0, 0, 100, 0),
            span(2, 1, 10, 40, 1),
            span(3, 1, 45, 90, 2),
            span(4, 1, 50, 60, 3),
        ]);
        let path = tree.critical_path(tree.root().unwrap());
        let ids: Vec<u64> = path
            .iter()
            .map(|p| tree.spans[p.span as usize].id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        let own: Vec<i64> = path.iter().map(|p| p.on_path).collect();
        assert_eq!(own, vec![10 + 5 + 10, 30, 45]);
        assert_eq!(own.iter().sum::<i64>(), 100);
    }
}
