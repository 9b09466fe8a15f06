//! Pure planning for the GPU pipeline of the bulk API: how a batch of chunks is cut into
//! groups that are staged, launched and copied back one at a time, and which GPUs run them.
//! Nothing here touches a device, so all of it is tested on the CPU.

use std::ops::Range;

/// Default bytes staged per group (inputs plus output capacities): 1 GiB. Not yet tuned by
/// measurement; `examples/pipeline.rs` measures several sizes.
pub const DEFAULT_GROUP_BYTES: usize = 1 << 30;
/// Default number of groups in flight per GPU: one being copied in, one running, one being
/// copied out.
pub const DEFAULT_IN_FLIGHT: usize = 3;

/// How the CUDA backend moves a batch through a GPU.
///
/// Device and pinned memory stay bounded by about `in_flight * group_bytes` plus the
/// kernels' workspaces, whatever the input size: a batch larger than GPU memory is processed
/// group by group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Bytes staged per group: the sum over its chunks of input length plus output capacity.
    /// A chunk larger than this forms a group of its own.
    pub group_bytes: usize,
    /// Groups in flight per GPU, each on its own CUDA stream (at least 1; 1 means no overlap).
    pub in_flight: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self { group_bytes: DEFAULT_GROUP_BYTES, in_flight: DEFAULT_IN_FLIGHT }
    }
}

impl PipelineOptions {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.group_bytes == 0 {
            return Err("pipeline group size is 0, should be at least 1 byte".into());
        }
        if !(1..=64).contains(&self.in_flight) {
            return Err(format!("pipeline in-flight count is {}, should be 1..=64", self.in_flight));
        }
        Ok(())
    }
}

/// Cuts items of the given weights (bytes each item stages) into consecutive groups whose
/// total weight is at most `group_bytes`; an item heavier than that is a group alone.
/// Every item is in exactly one group, in order; no group is empty.
pub fn plan_groups(weights: impl IntoIterator<Item = usize>, group_bytes: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut sum, mut n) = (0usize, 0usize, 0usize);
    for (i, w) in weights.into_iter().enumerate() {
        if i > start && sum.saturating_add(w) > group_bytes {
            groups.push(start..i);
            start = i;
            sum = 0;
        }
        sum = sum.saturating_add(w);
        n = i + 1;
    }
    if n > start {
        groups.push(start..n);
    }
    groups
}

/// Which GPUs the CUDA backend uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Devices {
    /// Every visible GPU (the default).
    #[default]
    All,
    /// These ordinals, in this order (no duplicates).
    List(Vec<usize>),
}

impl std::str::FromStr for Devices {
    type Err = String;
    /// `all`, or a comma-separated list of ordinals such as `0,1`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Devices::All);
        }
        let mut list = Vec::new();
        for part in s.split(',') {
            let d: usize = part
                .trim()
                .parse()
                .map_err(|_| format!("GPU list `{s}`: `{part}` is not a device number (or use `all`)"))?;
            if list.contains(&d) {
                return Err(format!("GPU list `{s}` names device {d} twice"));
            }
            list.push(d);
        }
        Ok(Devices::List(list))
    }
}

impl std::fmt::Display for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Devices::All => f.write_str("all"),
            Devices::List(l) => {
                let s: Vec<String> = l.iter().map(|d| d.to_string()).collect();
                f.write_str(&s.join(","))
            }
        }
    }
}

impl Devices {
    /// The ordinals to open when `count` devices are visible; an error names a missing
    /// device, a duplicate, or that there is none.
    pub fn resolve(&self, count: usize) -> Result<Vec<usize>, String> {
        match self {
            Devices::All if count == 0 => Err("no CUDA device is visible".into()),
            Devices::All => Ok((0..count).collect()),
            Devices::List(l) if l.is_empty() => Err("the GPU list is empty".into()),
            Devices::List(l) => {
                for (i, d) in l.iter().enumerate() {
                    if *d >= count {
                        return Err(format!("GPU {d} was requested, {count} visible"));
                    }
                    if l[..i].contains(d) {
                        return Err(format!("GPU {d} is listed twice"));
                    }
                }
                Ok(l.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_every_item_once_in_order() {
        let w = [3, 3, 3, 10, 1, 1, 1, 1, 4];
        let g = plan_groups(w, 6);
        assert_eq!(g, vec![0..2, 2..3, 3..4, 4..8, 8..9]);
    }

    #[test]
    fn empty_and_single() {
        assert!(plan_groups([], 5).is_empty());
        assert_eq!(plan_groups([0], 5), vec![0..1]);
        assert_eq!(plan_groups([9], 5), vec![0..1]);
    }

    #[test]
    fn device_lists_parse_and_resolve() {
        assert_eq!("all".parse::<Devices>().unwrap(), Devices::All);
        assert_eq!("0, 2".parse::<Devices>().unwrap(), Devices::List(vec![0, 2]));
        assert!("1,1".parse::<Devices>().unwrap_err().contains("twice"));
        assert!("x".parse::<Devices>().unwrap_err().contains("`x`"));
        assert!("".parse::<Devices>().is_err());
        assert_eq!(Devices::All.resolve(3).unwrap(), vec![0, 1, 2]);
        assert!(Devices::All.resolve(0).is_err());
        assert_eq!(Devices::List(vec![1]).resolve(2).unwrap(), vec![1]);
        assert_eq!(Devices::List(vec![2]).resolve(2).unwrap_err(), "GPU 2 was requested, 2 visible");
        assert!(Devices::List(vec![0, 0]).resolve(2).is_err());
        assert_eq!(Devices::List(vec![0, 3]).to_string(), "0,3");
    }

    #[test]
    fn pipeline_options_are_checked() {
        assert!(PipelineOptions::default().validate().is_ok());
        assert!(PipelineOptions { group_bytes: 0, in_flight: 2 }.validate().is_err());
        assert!(PipelineOptions { group_bytes: 1, in_flight: 0 }.validate().is_err());
    }

    proptest::proptest! {
        #[test]
        fn groups_partition_and_respect_the_budget(
            weights in proptest::collection::vec(0usize..1000, 0..200),
            budget in 1usize..3000,
        ) {
            let groups = plan_groups(weights.iter().copied(), budget);
            let mut at = 0;
            for g in &groups {
                proptest::prop_assert_eq!(g.start, at);
                proptest::prop_assert!(g.end > g.start);
                let sum: usize = weights[g.clone()].iter().sum();
                // Over budget only as a single heavy item.
                proptest::prop_assert!(sum <= budget || g.len() == 1);
                // Greedy: the next item would not have fitted.
                if g.end < weights.len() {
                    proptest::prop_assert!(sum + weights[g.end] > budget);
                }
                at = g.end;
            }
            proptest::prop_assert_eq!(at, weights.len());
        }
    }
}
