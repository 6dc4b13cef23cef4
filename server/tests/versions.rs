//! Several versions of one language: picked by `version` in our API (newest by default), by
//! semver in the Piston API and by id in the Judge0 API; and every language of the catalog
//! listed by all three.

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// A server with the whole catalog listed; only Python (both versions) keeps warm
/// containers, the others would start one on a first run.
fn server() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let all = pool::Catalog::load(&root.join("images/languages.toml")).unwrap();
        let ids: Vec<&str> = all.languages.iter().map(|l| l.id.as_str()).collect();
        let cfg = config("srv-versions", &ids);
        let mut catalog = pool::Catalog::load(&cfg.catalog).unwrap();
        for l in &mut catalog.languages {
            l.pool.min_idle = usize::from(l.family() == "python");
        }
        std::fs::write(&cfg.catalog, toml::to_string(&catalog).unwrap()).unwrap();
        start(cfg)
    })
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

const PRINT_VERSION: &str = "import sys\nprint('%d.%d' % sys.version_info[:2])\n";

#[test]
fn our_api_runs_the_version_asked_for_and_the_newest_by_default() {
    let s = server();
    rt().block_on(async {
        let langs = get(&s.url("/api/v1/languages")).await;
        let find = |id: &str| {
            langs
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == id)
                .unwrap_or_else(|| panic!("{id} listed: {langs}"))
                .clone()
        };
        let newest = find("python");
        let old = find("python-3.11");
        assert!(newest.get("version_of").is_none(), "{newest}");
        assert_eq!(old["version_of"], "python");
        assert!(
            old["version"].as_str().unwrap().starts_with("3.11."),
            "{old}"
        );
        // All but those only the newest can run (python's plot: python-3.11 has no matplotlib).
        let ids = |l: &Value| -> Vec<String> {
            l["examples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect()
        };
        let offered: Vec<String> = ids(&newest).into_iter().filter(|id| id != "plot").collect();
        assert_eq!(
            ids(&old),
            offered,
            "an older version offers the newest's examples"
        );
        let newest_minor = newest["version"]
            .as_str()
            .unwrap()
            .rsplit_once('.')
            .unwrap()
            .0
            .to_string();

        let run = |body: Value| {
            let url = s.url("/api/v1/runs");
            async move { post(&url, body).await }
        };
        let (status, _, r) = run(json!({"language": "python", "code": PRINT_VERSION})).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(
            r["stdout"],
            format!("{newest_minor}\n"),
            "the newest by default: {r}"
        );
        for (language, version) in [("python", "3.11"), ("py", "3.11.2"), ("python-3.11", "")] {
            let mut body = json!({"language": language, "code": PRINT_VERSION});
            if !version.is_empty() {
                body["version"] = json!(version);
            }
            let (status, _, r) = run(body).await;
            assert_eq!(status, 200, "{language} {version}: {r}");
            assert_eq!(r["stdout"], "3.11\n", "{language} {version}: {r}");
        }
        let (status, _, r) =
            run(json!({"language": "python", "version": "2.7", "code": "print(1)"})).await;
        assert_eq!(status, 400, "{r}");
        assert_eq!(r["error"]["code"], "unknown_version", "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("3.11.2") && message.contains(newest["version"].as_str().unwrap()),
            "{message}"
        );

        // A stored submission runs at its version too.
        let (status, _, created) = post(
            &s.url("/api/v1/submissions"),
            json!({"language": "python", "version": "3.11", "code": PRINT_VERSION}),
        )
        .await;
        assert_eq!(status, 202, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let sub = get(&s.url(&format!("/api/v1/submissions/{id}"))).await;
            if sub["status"] == "finished" {
                assert_eq!(sub["result"]["stdout"], "3.11\n", "{sub}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "submission never finished: {sub}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}

#[test]
fn piston_picks_versions_by_semver_and_judge0_by_id() {
    let s = server();
    rt().block_on(async {
        let runtimes = get(&s.url("/api/v2/runtimes")).await;
        let pythons: Vec<&str> = runtimes
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["language"] == "python")
            .map(|r| r["version"].as_str().unwrap())
            .collect();
        assert_eq!(pythons.len(), 2, "{runtimes}");
        for (version, want) in [("3.11.2", "3.11"), ("~3.11", "3.11"), ("*", "3.13")] {
            let (status, _, r) = post(
                &s.url("/api/v2/execute"),
                json!({"language": "python", "version": version, "files": [{"content": PRINT_VERSION}]}),
            )
            .await;
            assert_eq!(status, 200, "{version}: {r}");
            assert_eq!(r["language"], "python", "{r}");
            assert_eq!(r["run"]["stdout"], format!("{want}\n"), "{version}: {r}");
        }

        let (status, _, r) = post(
            &s.url("/judge0/submissions?wait=true"),
            json!({"language_id": 92, "source_code": PRINT_VERSION}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r["stdout"], "3.11\n", "{r}");
        let (_, _, r) = post(
            &s.url("/judge0/submissions?wait=true"),
            json!({"language_id": 71, "source_code": PRINT_VERSION}),
        )
        .await;
        assert_eq!(r["stdout"], "3.13\n", "{r}");
    });
}

/// Every language of the catalog is in our list and Piston's, and in Judge0's when Judge0
/// has an id for it.
#[test]
fn every_api_lists_every_language() {
    let s = server();
    rt().block_on(async {
        let ours = get(&s.url("/api/v1/languages")).await;
        let runtimes = get(&s.url("/api/v2/runtimes")).await;
        let judge0 = get(&s.url("/judge0/languages")).await;
        let catalog = s.state.engine.catalog();
        assert_eq!(ours.as_array().unwrap().len(), catalog.languages.len());
        assert_eq!(runtimes.as_array().unwrap().len(), catalog.languages.len());
        for l in &catalog.languages {
            assert!(
                runtimes
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["language"] == l.family() && r["version"] == l.version.as_str()),
                "{} missing from Piston's runtimes",
                l.id
            );
        }
        // Judge0 CE has ids for all but a few of our languages (Nim is in its extra
        // edition only).
        let judge0_names: Vec<&str> = judge0
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert!(
            judge0_names.len() + 2 >= catalog.languages.len(),
            "{} of {} languages in Judge0's list: {judge0_names:?}",
            judge0_names.len(),
            catalog.languages.len()
        );
        for name in &judge0_names {
            assert!(name.ends_with(')') && name.contains(" ("), "{name}");
        }
    });
}
