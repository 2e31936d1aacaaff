//! joiner on actix-web 4: GET / calls hello and world at once through one shared reqwest client
//! and answers "Hello World" as text/plain; an upstream failure is a 502, a timeout a 504.
//! HELLO_SERVICE and WORLD_SERVICE are host:port or http:// URLs; UPSTREAM_TIMEOUT_MS bounds a call
//! (2000); it listens on 127.0.0.1:$PORT only (0: any free port).
use actix_web::{get, http::StatusCode, web, App, HttpResponse, HttpServer};
use std::time::Duration;

struct Upstreams {
    client: reqwest::Client,
    hello: String,
    world: String,
}

/// Why an upstream gave no body, and whether it was the clock.
struct Failure {
    why: String,
    timed_out: bool,
}

#[get("/")]
async fn join(upstreams: web::Data<Upstreams>) -> HttpResponse {
    let u = upstreams.get_ref();
    let (hello, world) = tokio::join!(call(&u.client, &u.hello), call(&u.client, &u.world));
    let (status, body) = match (hello, world) {
        (Ok(h), Ok(w)) => (StatusCode::OK, format!("{h} {w}")),
        (h, w) => {
            let failures: Vec<Failure> = [h.err(), w.err()].into_iter().flatten().collect();
            let timed_out = failures.iter().any(|f| f.timed_out);
            let why: Vec<String> = failures.into_iter().map(|f| f.why).collect();
            let status = if timed_out { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY };
            (status, why.join("; "))
        }
    };
    HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(body)
}

async fn call(client: &reqwest::Client, url: &str) -> Result<String, Failure> {
    let failed = |e: reqwest::Error| Failure { why: format!("{url}: {e}"), timed_out: e.is_timeout() };
    let response = client.get(url).send().await.map_err(failed)?;
    if !response.status().is_success() {
        return Err(Failure { why: format!("{url}: answered {}", response.status().as_u16()), timed_out: false });
    }
    response.text().await.map_err(failed)
}

fn upstream(variable: &str, fallback: &str) -> String {
    let value = std::env::var(variable).unwrap_or_else(|_| fallback.into());
    if value.contains("://") { value } else { format!("http://{value}/") }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3002);
    let timeout: u64 = std::env::var("UPSTREAM_TIMEOUT_MS").ok().and_then(|t| t.parse().ok()).unwrap_or(2000);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout))
        .build()
        .expect("an HTTP client");
    // One client for every worker: its connection pool is shared, as joiner.java's is.
    let upstreams = web::Data::new(Upstreams {
        client,
        hello: upstream("HELLO_SERVICE", "localhost:3000"),
        world: upstream("WORLD_SERVICE", "localhost:3001"),
    });
    let server = HttpServer::new(move || App::new().app_data(upstreams.clone()).service(join))
        .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("actix-joiner listening on http://{address}/");
    }
    server.run().await
}
