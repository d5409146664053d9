//! The faiss index of one vector store: exact `IndexFlatL2`, or `IndexIVFFlat` once a store is
//! large, both addressed by stable `u64` labels that the provider maps to chunks.
//!
//! Every call here blocks; callers run it through [`blocking`], which also pins OpenMP to one
//! thread (faiss's default team of one thread per core, on a machine whose cores also serve
//! HTTP, made single-query search ~9× slower).

use std::collections::HashSet;

use faiss::cluster::{Clustering, ClusteringParameters};
use faiss::index::SearchWithParams;
use faiss::index::flat::FlatIndexImpl;
use faiss::index::ivf_flat::IVFFlatIndexImpl;
use faiss::search_params::SearchParametersIVF;
use faiss::selector::IdSelector;
use faiss::{ConcurrentIndex, FlatIndex, Idx, Index};
use lls_api_common::{Error, Result};

/// Fewest and most IVF lists, whatever the store size.
const MIN_NLIST: usize = 64;
const MAX_NLIST: usize = 1024;
/// Training points per list: faiss wants at least 39; more only slows k-means down.
const TRAIN_POINTS_PER_LIST: usize = 40;
/// k-means iterations when training IVF lists.
const KMEANS_ITERATIONS: u32 = 15;
/// An IVF index is retrained once its store has grown this many times past its training size.
const RETRAIN_GROWTH: usize = 4;
/// A query scans enough lists to expect this many times `k` candidates.
const CANDIDATES_PER_RESULT: usize = 4;

pub(crate) fn faiss_error(what: &str, e: faiss::error::Error) -> Error {
    Error::internal(format!("faiss failed to {what}: {e}"))
}

/// Runs blocking faiss work off the async runtime, with OpenMP pinned to one thread.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        omp::single_thread();
        f()
    })
    .await
    .map_err(|e| Error::internal(format!("a faiss task failed: {e}")))?
}

/// OpenMP's thread count, through libgomp (which faiss-sys links). The `faiss` crate exposes
/// no setter, and `OMP_NUM_THREADS` is read once, when libgomp loads: too late to set it here.
#[allow(unsafe_code)]
pub(crate) mod omp {
    use std::os::raw::c_int;

    unsafe extern "C" {
        fn omp_set_num_threads(num_threads: c_int);
        #[cfg(test)]
        fn omp_get_max_threads() -> c_int;
    }

    /// Makes parallel regions started from the calling thread use one thread. libgomp keeps
    /// this setting per thread, so it is set on each worker before faiss runs there.
    pub(crate) fn single_thread() {
        // SAFETY: a plain C call into libgomp (linked through faiss-sys with `-lgomp`) with a
        // positive count; it only writes the calling thread's OpenMP settings.
        unsafe { omp_set_num_threads(1) }
    }

    /// The thread count the next parallel region of the calling thread would use.
    #[cfg(test)]
    pub(crate) fn max_threads() -> usize {
        // SAFETY: a plain C call into libgomp that only reads the calling thread's settings.
        let n = unsafe { omp_get_max_threads() };
        usize::try_from(n).unwrap_or(1)
    }
}

/// How a store's vectors are held and searched.
enum Ann {
    /// Exact search; faiss numbers vectors by position, `labels[position]` is the label.
    Flat { index: FlatIndexImpl, labels: Vec<u64> },
    /// Approximate search over k-means cells; faiss stores the labels itself.
    Ivf { index: IVFFlatIndexImpl, centroids: Centroids },
}

/// One store's vectors, searchable by L2 distance.
pub(crate) struct VectorIndex {
    dim: usize,
    ann: Ann,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex").field("dim", &self.dim).field("kind", &self.kind()).field("len", &self.len()).finish()
    }
}

fn faiss_dim(dim: usize) -> Result<u32> {
    u32::try_from(dim).map_err(|_| Error::invalid(format!("embedding dimension {dim} is too large")))
}

fn idx(labels: &[u64]) -> Vec<Idx> {
    labels.iter().copied().map(Idx::new).collect()
}

/// The k-means centroids of an IVF index: kept in the kv store, so a restart rebuilds the
/// index without training it again.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Centroids {
    pub nlist: usize,
    /// How many vectors the store held when they were trained.
    pub trained_on: usize,
    pub dim: usize,
    /// `nlist` rows of `dim`.
    pub data: Vec<f32>,
    /// k-means' last imbalance factor (1 when every list is the same size; not stored).
    pub imbalance: f64,
}

impl Centroids {
    /// k-means over (a sample of) `vectors`, about `2·√n` of them.
    pub(crate) fn train(dim: usize, vectors: &[f32]) -> Result<Self> {
        let n = vectors.len() / dim.max(1);
        let nlist = nlist_for(n);
        let mut params = ClusteringParameters::new();
        params.set_niter(KMEANS_ITERATIONS);
        params.set_max_points_per_centroid(TRAIN_POINTS_PER_LIST as u32);
        let mut clustering = Clustering::new_with_params(faiss_dim(dim)?, u32::try_from(nlist).unwrap_or(u32::MAX), &params)
            .map_err(|e| faiss_error("set up k-means", e))?;
        let mut assign = FlatIndex::new_l2(faiss_dim(dim)?).map_err(|e| faiss_error("create a k-means index", e))?;
        let sample = training_sample(vectors, dim, nlist * TRAIN_POINTS_PER_LIST);
        clustering.train(&sample, &mut assign).map_err(|e| faiss_error("train IVF lists", e))?;
        let data = clustering.centroids().map_err(|e| faiss_error("read IVF centroids", e))?.concat();
        let imbalance = clustering.iteration_stats().last().map_or(0.0, |s| s.imbalance_factor());
        Ok(Centroids { nlist, trained_on: n, dim, data, imbalance })
    }

    /// Whether these centroids still suit a store of `n` vectors of `dim`.
    pub(crate) fn fit(&self, dim: usize, n: usize) -> bool {
        self.dim == dim && self.data.len() == self.nlist * dim && self.nlist > 0 && n < RETRAIN_GROWTH * self.trained_on.max(1)
    }
}

impl VectorIndex {
    /// An empty exact index.
    pub(crate) fn flat(dim: usize) -> Result<Self> {
        let index = FlatIndex::new_l2(faiss_dim(dim)?).map_err(|e| faiss_error("create a flat index", e))?;
        Ok(VectorIndex { dim, ann: Ann::Flat { index, labels: Vec::new() } })
    }

    /// An IVF index over `centroids`, holding `vectors` under `labels`.
    pub(crate) fn ivf(dim: usize, vectors: &[f32], labels: &[u64], centroids: Centroids) -> Result<Self> {
        let d = faiss_dim(dim)?;
        let mut quantizer = FlatIndex::new_l2(d).map_err(|e| faiss_error("create an IVF quantizer", e))?;
        quantizer.add(&centroids.data).map_err(|e| faiss_error("fill an IVF quantizer", e))?;
        let nlist = u32::try_from(centroids.nlist).unwrap_or(u32::MAX);
        let mut index = IVFFlatIndexImpl::new_l2(quantizer, d, nlist).map_err(|e| faiss_error("create an IVF index", e))?;
        if !index.is_trained() {
            return Err(Error::internal("faiss did not take the IVF centroids as trained"));
        }
        index.add_with_ids(vectors, &idx(labels)).map_err(|e| faiss_error("fill an IVF index", e))?;
        Ok(VectorIndex { dim, ann: Ann::Ivf { index, centroids } })
    }

    /// The centroids of an IVF index.
    pub(crate) fn centroids(&self) -> Option<&Centroids> {
        match &self.ann {
            Ann::Flat { .. } => None,
            Ann::Ivf { centroids, .. } => Some(centroids),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self.ann {
            Ann::Flat { .. } => "flat",
            Ann::Ivf { .. } => "ivf",
        }
    }

    pub(crate) fn is_flat(&self) -> bool {
        matches!(self.ann, Ann::Flat { .. })
    }

    pub(crate) fn len(&self) -> usize {
        match &self.ann {
            Ann::Flat { labels, .. } => labels.len(),
            Ann::Ivf { index, .. } => usize::try_from(index.ntotal()).unwrap_or(usize::MAX),
        }
    }

    /// Adds `vectors` (`labels.len()` rows of `dim`) under `labels`, which must be new.
    pub(crate) fn add(&mut self, vectors: &[f32], labels: &[u64]) -> Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        match &mut self.ann {
            Ann::Flat { index, labels: known } => {
                index.add(vectors).map_err(|e| faiss_error("add vectors", e))?;
                known.extend_from_slice(labels);
            }
            Ann::Ivf { index, .. } => index.add_with_ids(vectors, &idx(labels)).map_err(|e| faiss_error("add vectors", e))?,
        }
        Ok(())
    }

    /// Removes the vectors under `labels` (labels not in the index are ignored).
    pub(crate) fn remove(&mut self, labels: &HashSet<u64>) -> Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        match &mut self.ann {
            Ann::Flat { index, labels: known } => {
                let positions: Vec<Idx> =
                    known.iter().enumerate().filter(|(_, l)| labels.contains(l)).map(|(p, _)| Idx::new(p as u64)).collect();
                if positions.is_empty() {
                    return Ok(());
                }
                let selector = IdSelector::batch(&positions).map_err(|e| faiss_error("select vectors", e))?;
                // IndexFlat compacts in place, keeping order: drop the same positions from `known`.
                index.remove_ids(&selector).map_err(|e| faiss_error("remove vectors", e))?;
                known.retain(|l| !labels.contains(l));
            }
            Ann::Ivf { index, .. } => {
                let labels: Vec<u64> = labels.iter().copied().collect();
                let selector = IdSelector::batch(&idx(&labels)).map_err(|e| faiss_error("select vectors", e))?;
                index.remove_ids(&selector).map_err(|e| faiss_error("remove vectors", e))?;
            }
        }
        Ok(())
    }

    /// The `k` nearest vectors to `query` as `(squared L2 distance, label)`, nearest first. An
    /// IVF index scans `probe_fraction` of its lists, more when `k` needs more candidates.
    pub(crate) fn search(&self, query: &[f32], k: usize, probe_fraction: f64) -> Result<Vec<(f32, u64)>> {
        let n = self.len();
        let k = k.min(n);
        if k == 0 {
            return Ok(Vec::new());
        }
        let result = match &self.ann {
            Ann::Flat { index, .. } => ConcurrentIndex::search(index, query, k),
            Ann::Ivf { index, centroids } => {
                let mut params = SearchParametersIVF::new().map_err(|e| faiss_error("make search parameters", e))?;
                params.set_nprobe(nprobe_for(centroids.nlist, n, k, probe_fraction));
                index.search_with_params(query, k, &params.upcast())
            }
        }
        .map_err(|e| faiss_error("search", e))?;
        let hits = result.distances.into_iter().zip(result.labels).filter_map(|(d, label)| label.get().map(|l| (d, l)));
        Ok(match &self.ann {
            Ann::Flat { labels, .. } => hits.filter_map(|(d, p)| labels.get(p as usize).map(|l| (d, *l))).collect(),
            Ann::Ivf { .. } => hits.collect(),
        })
    }

    /// A copy of every vector and its label, for training an IVF index off the lock. `None`
    /// for an IVF index (only flat indexes are ever converted).
    pub(crate) fn flat_snapshot(&self) -> Option<(Vec<f32>, Vec<u64>)> {
        match &self.ann {
            Ann::Flat { index, labels } => Some((index.xb().to_vec(), labels.clone())),
            Ann::Ivf { .. } => None,
        }
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }
}

/// About `2·√n` lists (so a list holds about `√n / 2` vectors), within bounds.
fn nlist_for(n: usize) -> usize {
    let nlist = (2.0 * (n as f64).sqrt()).round() as usize;
    nlist.clamp(MIN_NLIST, MAX_NLIST).min(n.max(1))
}

/// Lists a query scans: `fraction` of them, and enough to expect `CANDIDATES_PER_RESULT · k`
/// candidates (a large `k` scans every list, which is exact).
fn nprobe_for(nlist: usize, n: usize, k: usize, fraction: f64) -> usize {
    let by_fraction = (nlist as f64 * fraction).ceil() as usize;
    let by_k = (CANDIDATES_PER_RESULT * k * nlist).div_ceil(n.max(1));
    by_fraction.max(by_k).clamp(1, nlist.max(1))
}

/// At most `max_points` rows of `vectors`, spread evenly over them.
fn training_sample(vectors: &[f32], dim: usize, max_points: usize) -> Vec<f32> {
    let n = vectors.len() / dim.max(1);
    if n <= max_points {
        return vectors.to_vec();
    }
    let mut sample = Vec::with_capacity(max_points * dim);
    for i in 0..max_points {
        let row = i * n / max_points;
        sample.extend_from_slice(&vectors[row * dim..(row + 1) * dim]);
    }
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic points in `dim` dimensions, grouped around 50 centres.
    fn points(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let centres: Vec<f32> = (0..50 * dim).map(|_| next() * 4.0).collect();
        (0..n).flat_map(|i| (0..dim).map(|j| centres[(i % 50) * dim + j] + next()).collect::<Vec<_>>()).collect()
    }

    fn exact(vectors: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<u64> {
        let mut d: Vec<(f32, u64)> = vectors
            .chunks(dim)
            .enumerate()
            .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(), i as u64 + 1000))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        d.into_iter().take(k).map(|(_, l)| l).collect()
    }

    #[test]
    fn flat_search_maps_positions_to_labels_across_removals() {
        let mut index = VectorIndex::flat(2).unwrap();
        index.add(&[0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0], &[10, 11, 12, 13]).unwrap();
        index.remove(&HashSet::from([11, 99])).unwrap();
        assert_eq!(index.len(), 3);
        let r = index.search(&[0.9, 0.0], 10, 1.0).unwrap();
        assert_eq!(r.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [10, 12, 13]);
        assert!((r[0].0 - 0.81).abs() < 1e-5, "distances are squared L2: {r:?}");
        index.add(&[1.0, 0.0], &[14]).unwrap();
        assert_eq!(index.search(&[1.0, 0.0], 1, 1.0).unwrap(), [(0.0, 14)]);
    }

    #[test]
    fn ivf_finds_nearly_what_exact_search_finds() {
        let (dim, n) = (16, 4000);
        let vectors = points(n, dim, 7);
        let labels: Vec<u64> = (0..n as u64).map(|i| i + 1000).collect();
        let centroids = Centroids::train(dim, &vectors).unwrap();
        assert_eq!((centroids.nlist, centroids.trained_on, centroids.data.len()), (126, n, 126 * dim));
        assert!(centroids.fit(dim, 4 * n - 1) && !centroids.fit(dim, 4 * n) && !centroids.fit(dim + 1, n));
        let mut index = VectorIndex::ivf(dim, &vectors, &labels, centroids).unwrap();
        assert_eq!((index.kind(), index.len()), ("ivf", n));
        let queries = points(50, dim, 99);
        let mut hits = 0;
        for q in queries.chunks(dim) {
            let got: Vec<u64> = index.search(q, 10, 0.125).unwrap().into_iter().map(|(_, l)| l).collect();
            let want = exact(&vectors, dim, q, 10);
            hits += got.iter().filter(|l| want.contains(l)).count();
        }
        assert!(hits >= 475, "recall@10 {hits}/500");
        // A k as large as the store scans every list: exact, and complete.
        assert_eq!(index.search(&queries[..dim], n, 0.125).unwrap().len(), n);
        index.remove(&HashSet::from([1000, 1001])).unwrap();
        assert_eq!(index.len(), n - 2);
        let own = index.search(&vectors[2 * dim..3 * dim], 1, 0.125).unwrap();
        assert_eq!(own[0].1, 1002);
    }

    #[test]
    fn probes_and_lists_stay_in_bounds() {
        assert_eq!(nlist_for(20_000), 283);
        assert_eq!(nlist_for(10_000_000), MAX_NLIST);
        assert_eq!(nlist_for(10), 10);
        assert_eq!(nprobe_for(283, 20_000, 10, 0.125), 36);
        assert_eq!(nprobe_for(283, 20_000, 20_000, 0.125), 283);
        assert_eq!(training_sample(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 2), [1.0, 2.0, 3.0, 4.0]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn faiss_work_runs_with_one_openmp_thread() {
        // Without the pin a thread gets one OpenMP thread per core (or OMP_NUM_THREADS).
        let default = std::thread::spawn(omp::max_threads).join().unwrap();
        assert!(default >= 1, "default {default}");
        assert_eq!(blocking(|| Ok(omp::max_threads())).await.unwrap(), 1);
    }
}
