//! The Lambda handler called as the runtime calls it, with `LambdaEvent::new`.

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use peerwatch_poller::handler::{HandlerError, handle, options_from_payload};
use serde_json::{Value, json};

use crate::helpers::Stack;

async fn invoke(
    stack: &Stack,
    payload: Value,
) -> Result<peerwatch_core::summary::Summary, HandlerError> {
    handle(&stack.poller, LambdaEvent::new(payload, Context::default()))
        .await
        .map(|a| a.poll().expect("a poll cycle's summary"))
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_events_and_options_run_a_cycle() {
    let stack = Stack::new().await;
    stack.sim.fleet(1, 2);
    let scheduler = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.scheduler", "resources": [], "detail": {}});
    let dry = invoke(&stack, json!({"dryRun": true})).await.unwrap();
    assert_eq!(
        (
            dry.dry_run,
            dry.transitions_detected,
            dry.transitions_recorded
        ),
        (true, 2, 0)
    );
    let summary = invoke(&stack, scheduler).await.unwrap();
    assert_eq!((summary.peers_seen, summary.transitions_recorded), (2, 2));
    let summary = invoke(&stack, json!({})).await.unwrap();
    assert_eq!(summary.transitions_recorded, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_payloads_are_rejected_before_any_aws_call() {
    let stack = Stack::new().await;
    stack.sim.fleet(1, 2);
    for payload in [
        json!([]),
        json!("run"),
        json!(42),
        json!(null),
        json!({"dryRun": "yes"}),
        json!({"routeServerIds": []}),
    ] {
        let err = invoke(&stack, payload.clone()).await.unwrap_err();
        assert!(
            matches!(err, HandlerError::InvalidPayload(_)),
            "{payload}: {err:?}"
        );
        let diag = Diagnostic::from(err);
        assert_eq!(diag.error_type, "InvalidPayload");
        assert!(
            diag.error_message.starts_with("invalid payload: "),
            "{}",
            diag.error_message
        );
    }
    assert!(
        stack.recorder.calls().is_empty(),
        "no AWS call: {:?}",
        stack.recorder.operations()
    );
}

/// Found by FUZZ_SEED=0 (case 22): the error echoed a 117 KB payload whole. Now it names the
/// option and shows the start of the value, with its size.
#[test]
fn fuzz_seed_0_huge_route_server_ids_error_is_short() {
    for payload in [
        json!({"routeServerIds": {"x": "y".repeat(200_000)}}),
        json!({"routeServerIds": ["rs-1", "z".repeat(200_000)]}),
        json!({"routeServerIds": ["rs-1", "\u{1F525}".repeat(50_000)]}),
    ] {
        let Err(HandlerError::InvalidPayload(msg)) = options_from_payload(&payload) else {
            panic!("accepted a malformed routeServerIds");
        };
        assert!(msg.contains("routeServerIds") && msg.len() < 250, "{msg}");
        assert!(msg.contains("bytes)"), "says how big it was: {msg}");
    }
}
