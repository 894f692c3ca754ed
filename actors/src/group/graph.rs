//! Checking a group's dependencies before anything starts: every
//! dependency known, no cycle. Pure logic.

use super::GroupError;

/// Checks `deps` (by name) of the members named `names` and returns, per
/// member, the indices of its dependencies.
pub(super) fn resolve(
    names: &[String],
    deps: &[Vec<String>],
) -> Result<Vec<Vec<usize>>, GroupError> {
    let index = |name: &str| names.iter().position(|n| n == name);
    let mut resolved = Vec::with_capacity(names.len());
    for (member, wanted) in names.iter().zip(deps) {
        let mut indices = Vec::with_capacity(wanted.len());
        for dependency in wanted {
            let Some(found) = index(dependency) else {
                return Err(GroupError::UnknownDependency {
                    resource: member.clone(),
                    dependency: dependency.clone(),
                });
            };
            indices.push(found);
        }
        resolved.push(indices);
    }
    Ok(resolved)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Visiting,
    Done,
}

/// A topological order (dependencies first), or the cycle that prevents
/// one, named member by member.
pub(super) fn order(names: &[String], deps: &[Vec<usize>]) -> Result<Vec<usize>, GroupError> {
    let mut marks = vec![Mark::New; names.len()];
    let mut order = Vec::with_capacity(names.len());
    let mut path = Vec::new();
    for start in 0..names.len() {
        visit(start, deps, &mut marks, &mut path, &mut order).map_err(|cycle| {
            GroupError::Cycle {
                cycle: cycle.into_iter().map(|i| names[i].clone()).collect(),
            }
        })?;
    }
    Ok(order)
}

/// Depth-first; on a back edge returns the cycle, first member repeated
/// at the end (`a → b → a`).
fn visit(
    node: usize,
    deps: &[Vec<usize>],
    marks: &mut [Mark],
    path: &mut Vec<usize>,
    order: &mut Vec<usize>,
) -> Result<(), Vec<usize>> {
    match marks[node] {
        Mark::Done => return Ok(()),
        Mark::Visiting => {
            let from = path.iter().position(|&n| n == node).unwrap_or(0);
            let mut cycle = path[from..].to_vec();
            cycle.push(node);
            return Err(cycle);
        }
        Mark::New => {}
    }
    marks[node] = Mark::Visiting;
    path.push(node);
    for &dependency in &deps[node] {
        visit(dependency, deps, marks, path, order)?;
    }
    path.pop();
    marks[node] = Mark::Done;
    order.push(node);
    Ok(())
}
