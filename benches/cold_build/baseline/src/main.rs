//! Uses each dependency once, so that every one is built and linked.
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};

fn main() {
    let matches = clap::Command::new("baseline")
        .arg(clap::Arg::new("url").long("url"))
        .get_matches();
    let item: syn::ItemStruct = syn::parse_quote!(
        struct Counter {
            offset: usize,
        }
    );
    let tokens = quote::quote!(#item);
    let draw: u8 = rand::rngs::SmallRng::seed_from_u64(7).random();
    tracing::info!("{tokens} {draw}");
    let url = matches.get_one::<String>("url").cloned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        if let Some(url) = url {
            if let Ok((socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
                let (_, mut read) = socket.split();
                let _ = read.next().await;
            }
        }
    });
}
