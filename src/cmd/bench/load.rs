//! HTTP load, generated in process. The server and the load share this machine's cores: the server
//! runs on its own single-threaded runtime on one OS thread, the load on another, so each gets
//! about one of the two cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::stats::Samples;

/// A request to send: method, path and query, and a JSON body.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub body: Option<String>,
    pub path: String,
}

impl Req {
    pub fn get(path: String) -> Req {
        Req {
            method: "GET",
            body: None,
            path,
        }
    }
    pub fn post(path: String, body: String) -> Req {
        Req {
            method: "POST",
            body: Some(body),
            path,
        }
    }
    pub fn put(path: String, body: String) -> Req {
        Req {
            method: "PUT",
            body: Some(body),
            path,
        }
    }
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub samples: Samples,
    pub errors: usize,
    pub elapsed: f64,
}

impl LoadResult {
    pub fn ops_per_s(&self) -> f64 {
        self.samples.0.len() as f64 / self.elapsed.max(1e-9)
    }
}

/// Runs `concurrency` keep-alive connections against `address` for `duration`, each sending the
/// requests `next` hands out. Runs on its own thread and runtime.
pub fn run(
    address: String,
    token: String,
    concurrency: usize,
    duration: Duration,
    next: Arc<dyn Fn(usize, u64) -> Req + Send + Sync>,
) -> LoadResult {
    run_until(address, token, concurrency, Until::Elapsed(duration), next)
        .join()
        .expect("load thread")
}

/// When a load stops.
pub enum Until {
    Elapsed(Duration),
    /// When the flag is set (by whoever started the load, e.g. once an import has finished).
    Flag(Arc<std::sync::atomic::AtomicBool>),
}

/// [`run`] on its own thread, returned at once; the result comes with `join`.
pub fn run_until(
    address: String,
    token: String,
    concurrency: usize,
    until: Until,
    next: Arc<dyn Fn(usize, u64) -> Req + Send + Sync>,
) -> std::thread::JoinHandle<LoadResult> {
    let until = Arc::new(until);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("load runtime");
        rt.block_on(async move {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let started = Instant::now();
            let going = {
                let until = until.clone();
                move || match &*until {
                    Until::Elapsed(d) => started.elapsed() < *d,
                    Until::Flag(stop) => !stop.load(std::sync::atomic::Ordering::Relaxed),
                }
            };
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let client = client.clone();
                let (address, token, next, going) = (address.clone(), token.clone(), next.clone(), going.clone());
                tasks.push(tokio::spawn(async move {
                    let mut samples = Samples::default();
                    let mut errors = 0;
                    let mut n = 0u64;
                    while going() {
                        let req = next(worker, n);
                        n += 1;
                        let request = hyper::Request::builder()
                            .method(req.method)
                            .uri(format!("http://{address}{}", req.path))
                            .header("authorization", format!("Bearer {token}"))
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(req.body.unwrap_or_default())))
                            .expect("request");
                        let t = Instant::now();
                        match client.request(request).await {
                            Ok(response) => {
                                let ok = response.status().is_success();
                                let _ = response.into_body().collect().await;
                                if ok {
                                    samples.push(t);
                                } else {
                                    errors += 1;
                                }
                            }
                            Err(_) => errors += 1,
                        }
                    }
                    (samples, errors)
                }));
            }
            let mut result = LoadResult::default();
            for task in tasks {
                let (samples, errors) = task.await.expect("load task");
                result.samples.0.extend(samples.0);
                result.errors += errors;
            }
            result.elapsed = started.elapsed().as_secs_f64();
            result
        })
    })
}

/// A server running on its own thread and single-threaded runtime until `stop` is dropped.
pub struct Server {
    pub address: String,
    pub token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// `make` builds the router inside the server's runtime (database connections belong to the
    /// runtime that opened them) and returns it with the token clients should send.
    pub fn start<F, Fut>(make: F) -> anyhow::Result<Server>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<(axum::Router, String)>>,
    {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let made = make().await;
                let (router, token) = match made {
                    Ok(x) => x,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let address = listener.local_addr().expect("address").to_string();
                let _ = ready_tx.send(Ok((address, token)));
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let (address, token) = ready_rx.recv()??;
        Ok(Server {
            address,
            token,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
