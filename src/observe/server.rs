//! The actix-web application: routes, the request guard, the server's
//! bounds.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::{Server, Service, ServiceRequest};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures::future::{Either, ready};
use metrics_exporter_prometheus::PrometheusHandle;

use super::{BACKLOG, KEEP_ALIVE, MAX_CONNECTIONS, MAX_HEADERS, ObserveError, REQUEST_TIMEOUT};
use crate::steward::Actors;

/// What every request reads from.
struct Source {
    actors: Actors,
    prometheus: PrometheusHandle,
}

/// Binds `addr` and builds the server; it runs once polled on an actix
/// System (its worker is an arbiter of that System).
pub(super) fn start(
    actors: Actors,
    prometheus: PrometheusHandle,
    addr: SocketAddr,
) -> Result<(SocketAddr, Server), ObserveError> {
    let source = web::Data::from(Arc::new(Source { actors, prometheus }));
    let bind_error = |source: std::io::Error| ObserveError::Bind {
        addr,
        source: Arc::new(source),
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(source.clone())
            .wrap_fn(|request, service| match refusal(&request) {
                Some(response) => Either::Left(ready(Ok(request.into_response(response)))),
                None => Either::Right(service.call(request)),
            })
            .route("/metrics", web::route().to(metrics))
            .route("/status", web::route().to(status))
            .route("/", web::route().to(dashboard))
            .default_service(web::route().to(not_found))
    })
    .workers(1)
    .max_connections(MAX_CONNECTIONS)
    .backlog(BACKLOG)
    .client_request_timeout(REQUEST_TIMEOUT)
    .keep_alive(KEEP_ALIVE)
    .client_disconnect_timeout(std::time::Duration::from_secs(1))
    .shutdown_timeout(1)
    .disable_signals()
    .bind(addr)
    .map_err(bind_error)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| bind_error(std::io::Error::other("no address was bound")))?;
    Ok((bound, server.run()))
}

/// The response refusing a request before any route sees it, if it is
/// refused: a method that is not `GET` or `HEAD`, a body, too many
/// headers.
fn refusal(request: &ServiceRequest) -> Option<HttpResponse> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Some(
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "GET, HEAD"))
                .body("405 method not allowed: this endpoint is read-only (GET, HEAD)\n"),
        );
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADERS {
        return Some(
            HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                .body(format!("431 too many headers: at most {MAX_HEADERS}\n")),
        );
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body {
        return Some(
            HttpResponse::PayloadTooLarge()
                .insert_header((header::CONNECTION, "close"))
                .body("413 payload too large: this endpoint takes no request body\n"),
        );
    }
    None
}

/// Headers every response carries: nothing is cached, nothing sniffed.
fn plain(
    mut response: actix_web::HttpResponseBuilder,
    content_type: &str,
) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    response
}

async fn metrics(source: web::Data<Source>) -> HttpResponse {
    source.actors.record_metrics().await;
    source.prometheus.run_upkeep();
    let text = source.prometheus.render();
    plain(
        HttpResponse::Ok(),
        "text/plain; version=0.0.4; charset=utf-8",
    )
    .body(text)
}

async fn status(source: web::Data<Source>) -> HttpResponse {
    let status = source.actors.status().await;
    match serde_json::to_string(&status) {
        Ok(json) => plain(HttpResponse::Ok(), "application/json").body(json),
        Err(err) => {
            tracing::error!(target: "steward::observe", %err, "cannot serialize the status");
            plain(
                HttpResponse::InternalServerError(),
                "text/plain; charset=utf-8",
            )
            .body(format!("500 cannot serialize the status: {err}\n"))
        }
    }
}

async fn dashboard(source: web::Data<Source>) -> HttpResponse {
    let status = source.actors.status().await;
    let page = super::dashboard::page(&status, &source.actors.history());
    plain(HttpResponse::Ok(), "text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, super::dashboard::CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(page)
}

async fn not_found(request: HttpRequest) -> HttpResponse {
    tracing::debug!(target: "steward::observe", path = request.path(), "unknown path");
    plain(HttpResponse::NotFound(), "text/plain; charset=utf-8")
        .body("404 not found: this endpoint serves /, /metrics and /status\n")
}
