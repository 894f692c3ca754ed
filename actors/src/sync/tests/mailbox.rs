use actix::prelude::*;

use crate::sync::{ask, try_ask};

#[derive(Debug, PartialEq)]
enum EchoError {
    Refused,
    Gone,
}

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u32")]
struct Double(u32);

#[derive(Message)]
#[rtype(result = "Result<u32, EchoError>")]
struct Check(u32);

#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Double> for Echo {
    type Result = u32;
    fn handle(&mut self, Double(n): Double, _: &mut Context<Self>) -> u32 {
        n * 2
    }
}

impl Handler<Check> for Echo {
    type Result = Result<u32, EchoError>;
    fn handle(&mut self, Check(n): Check, _: &mut Context<Self>) -> Self::Result {
        if n == 0 {
            Err(EchoError::Refused)
        } else {
            Ok(n)
        }
    }
}

impl Handler<Stop> for Echo {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[actix_rt::test]
async fn a_reply_comes_back_and_a_stopped_actor_is_the_callers_error() {
    let echo = Echo.start();
    assert_eq!(ask(&echo, Double(21), || EchoError::Gone).await, Ok(42));
    assert_eq!(try_ask(&echo, Check(7), || EchoError::Gone).await, Ok(7));
    assert_eq!(
        try_ask(&echo, Check(0), || EchoError::Gone).await,
        Err(EchoError::Refused)
    );
    echo.send(Stop).await.unwrap();
    assert_eq!(
        ask(&echo, Double(1), || EchoError::Gone).await,
        Err(EchoError::Gone)
    );
    assert_eq!(
        try_ask(&echo, Check(1), || EchoError::Gone).await,
        Err(EchoError::Gone)
    );
}
