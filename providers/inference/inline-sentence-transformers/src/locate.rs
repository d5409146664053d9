//! Where a model's files are looked for: the configured `model_dir`, the configured search
//! paths, our cache (`$LLS_MODELS_DIR`, filled by `scripts/models.sh`), then the Hugging Face
//! hub cache (`models--<org>--<name>/snapshots/<rev>/`), in that order. No network.

use std::path::{Path, PathBuf};

/// The files a directory must hold to count as a model (sentence-transformers' own files are
/// optional: without `modules.json` a plain BERT checkpoint is mean-pooled, as they do).
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The Hugging Face organisation a bare name belongs to, as sentence-transformers assumes.
pub const DEFAULT_ORG: &str = "sentence-transformers";

/// A model name usable as a path: letters, digits, `-`, `_`, `.`, at most one `/`, and no
/// `.`-only segment (so a request can never name a directory outside the search roots).
pub fn is_valid_name(name: &str) -> bool {
    let segments: Vec<&str> = name.split('/').collect();
    segments.len() <= 2
        && segments.iter().all(|s| {
            !s.is_empty()
                && !s.chars().all(|c| c == '.')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

/// The directories searched, in order; built once from config and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPaths {
    /// The configured model's own directory (`model_dir`), tried first for that model only.
    pub model_dir: Option<PathBuf>,
    /// Roots holding `<name>/` or `<org>/<name>/`: `model_search_paths`, then our cache.
    pub roots: Vec<PathBuf>,
    /// The Hugging Face hub cache, when a home or `HF_*` variable says where it is.
    pub hf_hub: Option<PathBuf>,
}

impl SearchPaths {
    /// Our cache and the HF cache, as the environment (`env`) places them:
    /// `$LLS_MODELS_DIR` (default `$HOME/.cache/llama-stack-rs/models`) and `$HF_HUB_CACHE`,
    /// else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `$HOME/.cache/huggingface/hub`.
    pub fn new(model_dir: Option<&str>, search_paths: &[String], env: &dyn Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = var("HOME");
        let ours = var("LLS_MODELS_DIR").or_else(|| home.as_ref().map(|h| h.join(".cache/llama-stack-rs/models")));
        let hf_hub = var("HF_HUB_CACHE")
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("huggingface/hub")))
            .or_else(|| home.map(|h| h.join(".cache/huggingface/hub")));
        let mut roots: Vec<PathBuf> = search_paths.iter().map(PathBuf::from).collect();
        roots.extend(ours);
        SearchPaths { model_dir: model_dir.map(PathBuf::from), roots, hf_hub }
    }

    /// From the process environment.
    pub fn from_env(model_dir: Option<&str>, search_paths: &[String]) -> Self {
        Self::new(model_dir, search_paths, &|name| std::env::var(name).ok())
    }

    /// Every place `name` is looked for, in order. `is_configured` says whether `name` is the
    /// configured model, the only one `model_dir` holds. HF snapshots are listed as the
    /// `snapshots/` folder; [`SearchPaths::find`] picks the revision inside.
    pub fn candidates(&self, name: &str, is_configured: bool) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if is_configured && let Some(dir) = &self.model_dir {
            out.push(dir.clone());
        }
        if !is_valid_name(name) {
            return out;
        }
        let (org, base) = name.split_once('/').unwrap_or((DEFAULT_ORG, name));
        for root in &self.roots {
            if name.contains('/') {
                out.push(root.join(name));
            }
            out.push(root.join(base));
        }
        if let Some(hub) = &self.hf_hub {
            out.push(hub.join(format!("models--{org}--{base}")).join("snapshots"));
        }
        out
    }

    /// The first candidate holding a complete model, or every place looked at.
    pub fn find(&self, name: &str, is_configured: bool) -> Result<PathBuf, Vec<PathBuf>> {
        let candidates = self.candidates(name, is_configured);
        for dir in &candidates {
            let found = if dir.ends_with("snapshots") { hf_snapshot(dir) } else { is_complete(dir).then(|| dir.clone()) };
            if let Some(found) = found {
                return Ok(found);
            }
        }
        Err(candidates)
    }
}

/// Whether `dir` holds every [`REQUIRED_FILES`] entry.
pub fn is_complete(dir: &Path) -> bool {
    REQUIRED_FILES.iter().all(|f| dir.join(f).is_file())
}

/// The complete snapshot of an HF cache repo: the revision `refs/main` names, else the first
/// complete one in name order (a cache filled by `snapshot_download(revision=...)` has no ref).
fn hf_snapshot(snapshots: &Path) -> Option<PathBuf> {
    let repo = snapshots.parent()?;
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs/main")) {
        let dir = snapshots.join(rev.trim());
        if is_valid_name(rev.trim()) && is_complete(&dir) {
            return Some(dir);
        }
    }
    let mut revs: Vec<PathBuf> = std::fs::read_dir(snapshots).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    revs.sort();
    revs.into_iter().find(|d| is_complete(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    fn touch_model(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in REQUIRED_FILES {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
    }

    #[test]
    fn names_cannot_escape_the_roots() {
        for ok in ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "bge_small.en-v1.5"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "..", "../x", "a/../b", "/abs", "a/b/c", "a/", "a b", "a\\b", ".", "x/.."] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn environment_places_the_caches() {
        let p = SearchPaths::new(None, &[], &env(&[("HOME", "/h")]));
        assert_eq!(p.roots, [PathBuf::from("/h/.cache/llama-stack-rs/models")]);
        assert_eq!(p.hf_hub.as_deref(), Some(Path::new("/h/.cache/huggingface/hub")));
        let p = SearchPaths::new(None, &["/extra".into()], &env(&[("HOME", "/h"), ("LLS_MODELS_DIR", "/m"), ("HF_HOME", "/hf")]));
        assert_eq!(p.roots, [PathBuf::from("/extra"), PathBuf::from("/m")]);
        assert_eq!(p.hf_hub.as_deref(), Some(Path::new("/hf/hub")));
        let p = SearchPaths::new(None, &[], &env(&[("HF_HUB_CACHE", "/hub"), ("HF_HOME", "/hf")]));
        assert_eq!((p.roots.len(), p.hf_hub.as_deref()), (0, Some(Path::new("/hub"))));
    }

    #[test]
    fn candidates_in_order() {
        let p = SearchPaths::new(Some("/own"), &[], &env(&[("LLS_MODELS_DIR", "/m"), ("HF_HOME", "/hf")]));
        let c = p.candidates("sentence-transformers/all-MiniLM-L6-v2", true);
        let want = [
            "/own",
            "/m/sentence-transformers/all-MiniLM-L6-v2",
            "/m/all-MiniLM-L6-v2",
            "/hf/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots",
        ];
        assert_eq!(c, want.map(PathBuf::from));
        // model_dir belongs to the configured model only; bare names are sentence-transformers'.
        let c = p.candidates("all-MiniLM-L6-v2", false);
        assert_eq!(
            c,
            ["/m/all-MiniLM-L6-v2", "/hf/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots"].map(PathBuf::from)
        );
        assert_eq!(p.candidates("../../etc", false), Vec::<PathBuf>::new());
    }

    #[test]
    fn finds_our_cache_and_hf_snapshots() {
        let tmp = tempfile::tempdir().unwrap();
        let ours = tmp.path().join("ours");
        let hub = tmp.path().join("hub");
        let p = SearchPaths { model_dir: None, roots: vec![ours.clone()], hf_hub: Some(hub.clone()) };
        let looked = p.find("all-MiniLM-L6-v2", true).unwrap_err();
        assert_eq!(looked.len(), 2);

        // An HF cache: refs/main picks the revision even when another sorts first.
        let repo = hub.join("models--sentence-transformers--all-MiniLM-L6-v2");
        touch_model(&repo.join("snapshots/aaa"));
        touch_model(&repo.join("snapshots/bbb"));
        assert_eq!(p.find("all-MiniLM-L6-v2", true).unwrap(), repo.join("snapshots/aaa"));
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "bbb\n").unwrap();
        assert_eq!(p.find("all-MiniLM-L6-v2", true).unwrap(), repo.join("snapshots/bbb"));

        // Our cache comes first; an incomplete directory does not count.
        std::fs::create_dir_all(ours.join("all-MiniLM-L6-v2")).unwrap();
        std::fs::write(ours.join("all-MiniLM-L6-v2/config.json"), b"{}").unwrap();
        assert_eq!(p.find("all-MiniLM-L6-v2", true).unwrap(), repo.join("snapshots/bbb"));
        touch_model(&ours.join("all-MiniLM-L6-v2"));
        assert_eq!(p.find("all-MiniLM-L6-v2", true).unwrap(), ours.join("all-MiniLM-L6-v2"));
    }
}
