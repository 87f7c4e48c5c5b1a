//! Groups of groups form a directed acyclic graph. Before a group is nested under another, the
//! storage layer loads the neighbourhood that matters (the ancestors of the parent and the
//! descendants of the child) and this module decides, naming the offending path when it refuses.

use std::collections::HashMap;

use crate::group::GroupKind;
use crate::{Error, ErrorCode, GroupId, Result};

/// A group as the nesting rule sees it.
#[derive(Debug, Clone)]
pub struct NestingNode {
    pub id: GroupId,
    pub name: String,
    pub kind: GroupKind,
}

/// The part of the nesting graph around a proposed edge `parent -> child`: every edge among the
/// ancestors of `parent` and among the descendants of `child` (either may be empty).
#[derive(Debug, Clone, Default)]
pub struct Neighbourhood {
    /// (parent, child) pairs.
    pub edges: Vec<(GroupId, GroupId)>,
    pub names: HashMap<GroupId, String>,
}

/// Checks that `child` may be nested under `parent` with at most `max_depth` levels in any chain.
pub fn check_nesting(parent: &NestingNode, child: &NestingNode, graph: &Neighbourhood, max_depth: i32) -> Result<()> {
    if parent.kind != GroupKind::Groups {
        return Err(Error::new(
            ErrorCode::KindMismatch,
            format!(
                "\"{}\" is a group of clients; only a group of client groups can contain the group \"{}\"",
                parent.name, child.name
            ),
        ));
    }
    let name = |id: GroupId| -> String {
        if id == parent.id {
            parent.name.clone()
        } else if id == child.id {
            child.name.clone()
        } else {
            graph.names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
        }
    };
    let mut children: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
    let mut parents: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
    for &(p, c) in &graph.edges {
        children.entry(p).or_default().push(c);
        parents.entry(c).or_default().push(p);
    }

    if parent.id == child.id {
        return Err(cycle_error(&[child.id, parent.id], &name));
    }
    if let Some(path) = find_path(child.id, parent.id, &children) {
        // child ->* parent exists, so parent -> child would close the loop.
        let mut cycle = path;
        cycle.push(child.id);
        return Err(cycle_error(&cycle, &name));
    }

    // Longest chain through the new edge: (ancestors of parent, parent) + (child, descendants).
    let mut up_memo = HashMap::new();
    let mut down_memo = HashMap::new();
    let up = longest_chain(parent.id, &parents, &mut up_memo);
    let down = longest_chain(child.id, &children, &mut down_memo);
    let depth = up.len() + down.len();
    if depth as i64 > max_depth as i64 {
        let mut chain: Vec<GroupId> = up.into_iter().rev().collect();
        chain.extend(down);
        let names: Vec<String> = chain.iter().map(|&id| format!("\"{}\"", name(id))).collect();
        return Err(Error::new(
            ErrorCode::NestingTooDeep,
            format!(
                "nesting \"{}\" under \"{}\" would make a chain of {depth} levels ({}); the organisation allows at most {max_depth}",
                child.name,
                parent.name,
                names.join(" > ")
            ),
        )
        .with_extra(serde_json::json!({ "path": chain, "depth": depth, "max_depth": max_depth })));
    }
    Ok(())
}

fn cycle_error(path: &[GroupId], name: &dyn Fn(GroupId) -> String) -> Error {
    // `path` runs child ->* parent -> child; show it starting from the parent the user chose.
    let names: Vec<String> = path.iter().map(|&id| format!("\"{}\"", name(id))).collect();
    Error::new(
        ErrorCode::NestingCycle,
        format!("nesting would create a cycle: {}", names.join(" > ")),
    )
    .with_extra(serde_json::json!({ "path": path }))
}

/// A path `from ->* to` along `next` edges, if one exists (depth-first, iterative).
fn find_path(from: GroupId, to: GroupId, next: &HashMap<GroupId, Vec<GroupId>>) -> Option<Vec<GroupId>> {
    let mut came_from: HashMap<GroupId, GroupId> = HashMap::new();
    let mut stack = vec![from];
    let mut seen = std::collections::HashSet::from([from]);
    while let Some(node) = stack.pop() {
        if node == to {
            let mut path = vec![to];
            let mut cur = to;
            while let Some(&prev) = came_from.get(&cur) {
                path.push(prev);
                cur = prev;
            }
            path.reverse();
            return Some(path);
        }
        for &n in next.get(&node).into_iter().flatten() {
            if seen.insert(n) {
                came_from.insert(n, node);
                stack.push(n);
            }
        }
    }
    None
}

/// The longest chain starting at `start` (inclusive) following `next`; the graph is acyclic.
fn longest_chain(
    start: GroupId,
    next: &HashMap<GroupId, Vec<GroupId>>,
    memo: &mut HashMap<GroupId, Vec<GroupId>>,
) -> Vec<GroupId> {
    if let Some(chain) = memo.get(&start) {
        return chain.clone();
    }
    let mut best: Vec<GroupId> = Vec::new();
    for &n in next.get(&start).into_iter().flatten() {
        let candidate = longest_chain(n, next, memo);
        if candidate.len() > best.len() {
            best = candidate;
        }
    }
    let mut chain = Vec::with_capacity(best.len() + 1);
    chain.push(start);
    chain.extend(best);
    memo.insert(start, chain.clone());
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, kind: GroupKind) -> NestingNode {
        NestingNode {
            id: GroupId(id),
            name: format!("G{id}"),
            kind,
        }
    }

    fn graph(edges: &[(i64, i64)]) -> Neighbourhood {
        Neighbourhood {
            edges: edges.iter().map(|&(p, c)| (GroupId(p), GroupId(c))).collect(),
            names: edges
                .iter()
                .flat_map(|&(p, c)| [p, c])
                .map(|id| (GroupId(id), format!("G{id}")))
                .collect(),
        }
    }

    #[test]
    fn only_a_group_of_client_groups_can_contain_groups() {
        let err = check_nesting(
            &node(1, GroupKind::Clients),
            &node(2, GroupKind::Clients),
            &graph(&[]),
            8,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::KindMismatch);
    }

    #[test]
    fn a_cycle_is_refused_and_the_path_named() {
        // 1 -> 2 -> 3 exists; nesting 1 under 3 would loop.
        let err = check_nesting(
            &node(3, GroupKind::Groups),
            &node(1, GroupKind::Groups),
            &graph(&[(1, 2), (2, 3)]),
            8,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::NestingCycle);
        assert!(
            err.detail.contains("\"G1\" > \"G2\" > \"G3\" > \"G1\""),
            "{}",
            err.detail
        );
        let self_loop = check_nesting(&node(1, GroupKind::Groups), &node(1, GroupKind::Groups), &graph(&[]), 8);
        assert_eq!(self_loop.unwrap_err().code, ErrorCode::NestingCycle);
    }

    #[test]
    fn depth_counts_levels_across_the_new_edge() {
        // ancestors: 1 -> 2 ; descendants: 3 -> 4. New edge 2 -> 3 makes 1>2>3>4: four levels.
        let g = graph(&[(1, 2), (3, 4)]);
        assert!(check_nesting(&node(2, GroupKind::Groups), &node(3, GroupKind::Groups), &g, 4).is_ok());
        let err = check_nesting(&node(2, GroupKind::Groups), &node(3, GroupKind::Groups), &g, 3).unwrap_err();
        assert_eq!(err.code, ErrorCode::NestingTooDeep);
        assert!(
            err.detail.contains("\"G1\" > \"G2\" > \"G3\" > \"G4\""),
            "{}",
            err.detail
        );
    }

    #[test]
    fn a_diamond_is_allowed() {
        // 1 -> 2 -> 4 and 1 -> 3; nesting 4 under 3 too makes a diamond, not a cycle.
        let g = graph(&[(1, 2), (2, 4), (1, 3)]);
        assert!(check_nesting(&node(3, GroupKind::Groups), &node(4, GroupKind::Clients), &g, 8).is_ok());
    }
}
