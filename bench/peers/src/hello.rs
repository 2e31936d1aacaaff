//! hello (and world) on actix-web 4: GET / answers $ANSWER ("Hello" unless set) as text/plain,
//! on 127.0.0.1:$PORT only (0: any free port). Prints the address it listens on.
use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    // Made once, as hello.java's bytes are: a request copies nothing.
    let answer: &'static str = Box::leak(std::env::var("ANSWER").unwrap_or_else(|_| "Hello".into()).into_boxed_str());
    let server = HttpServer::new(move || {
        App::new().route("/", web::get().to(move || async move {
            HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(answer)
        }))
    })
    .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("actix-hello listening on http://{address}/");
    }
    server.run().await
}
