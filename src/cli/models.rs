//! `hunch models`: the model providers (presets and config.toml), each checked for an
//! answer unless `--offline`.

use anyhow::Result;
use hunch::brain::llm::providers::resolve;
use hunch::config::Config;
use std::time::Duration;

#[derive(clap::Args)]
pub(super) struct ModelsArgs {
    /// Only list them; don't contact any endpoint.
    #[arg(long)]
    offline: bool,
}

/// `hunch models`: a line per provider: its dialect, base URL, key and check.
pub(super) fn list_models(args: ModelsArgs, config: &Config) -> Result<()> {
    let offline = args.offline;
    use hunch::brain::llm::providers::{all_providers, check};
    let env = |var: &str| std::env::var(var).ok();
    let endpoints: Vec<_> = all_providers(&config.providers)
        .into_iter()
        .map(|name| {
            (
                name.clone(),
                resolve(&format!("{name}:-"), &config.providers, env),
            )
        })
        .collect();
    let verdicts: Vec<String> = if offline {
        vec![String::new(); endpoints.len()]
    } else {
        let runtime = tokio::runtime::Runtime::new()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(4))
            .build()?;
        runtime.block_on(futures::future::join_all(endpoints.iter().map(|(_, e)| {
            let client = client.clone();
            async move {
                match e {
                    Ok(endpoint) => match check(&client, endpoint).await {
                        Ok(ok) => format!("ok, {ok}"),
                        Err(e) => format!("fails: {e}"),
                    },
                    Err(e) => format!("misconfigured: {e}"),
                }
            }
        })))
    };
    println!(
        "{:<12} {:<10} {:<40} {:<28} check",
        "provider", "dialect", "base url", "key"
    );
    for ((name, endpoint), verdict) in endpoints.iter().zip(verdicts) {
        match endpoint {
            Ok(e) => {
                let key = match (&e.api_key_env, &e.api_key) {
                    (None, _) => "none needed".to_string(),
                    (Some(var), Some(_)) => format!("${var} set"),
                    (Some(var), None) => format!("${var} NOT set"),
                };
                let dialect = format!("{:?}", e.dialect).to_lowercase();
                println!(
                    "{name:<12} {dialect:<10} {:<40} {key:<28} {verdict}",
                    e.base_url
                );
            }
            Err(e) => println!("{name:<12} {e}"),
        }
    }
    println!(
        "\nUse one with --model PROVIDER:MODEL, e.g. --model ollama:qwen3:14b; add or override providers in [providers.NAME] of config.toml."
    );
    Ok(())
}
