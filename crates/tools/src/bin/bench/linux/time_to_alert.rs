//! Time to alert (`make bench`, or `bench --time-to-alert` alone; docs/benchmarks.md): from a
//! change in route-server-sim to the SNS message in an SQS queue subscribed to the topic
//! (moto), through the log path and through the poll, in one run; then the log consumer's
//! time per record for batches of 1 and of 1,000 records.
//!
//! - The log path: a peer's BGP goes down through the control API, its record is read back
//!   from `GET /_sim/peer-logs`, packed as CloudWatch Logs delivers it (an `awslogs` payload)
//!   and handed to the Lambda handler, as the log consumer's function is invoked; timed from
//!   the change, and from the record reaching the handler, until the message is in the queue.
//! - The poll at a 60 s interval: the same peer comes back up, then one poll cycle runs; its
//!   processing-to-queue time is measured, and the wait for that poll, a uniformly random
//!   offset into the interval, is added: simulated, not slept.
//!
//! The queue is read while the handler or the cycle runs (moto delivers during `Publish`), so
//! a message is seen within one `ReceiveMessage` of landing. Figures are printed, never
//! asserted; the budget (p99 within 2 s of the record reaching the consumer) is marked PASS or
//! MISS as the others are.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_aws::peer_logs::LogSummary;
use peerwatch_testkit::awslogs;
use peerwatch_testkit::emulators::unique_name;
use serde_json::{Value, json};

use super::{Bench, Error, Target, ms, sdk_config, verdict};

/// The interval the deployed schedule polls at.
const POLL_INTERVAL: Duration = Duration::from_secs(60);
/// The budget: a record's alert is in the queue within this long of reaching the consumer.
const BUDGET: Duration = Duration::from_secs(2);
/// The fleet the time to alert is measured on: every change alerts (no storm, no flapping).
const ALERT_ROUTE_SERVERS: usize = 10;
const ALERT_PEERS_PER_ROUTE_SERVER: usize = 20;
/// The fleet of the batch measure: half its peers use BFD (liveness alternates), and those
/// 250 flapping once log 1,000 records.
const BATCH_ROUTE_SERVERS: usize = 10;
const BATCH_PEERS_PER_ROUTE_SERVER: usize = 50;
const BIG_BATCH: usize = 1_000;
const SINGLE_BATCHES: usize = 50;
/// The random offsets into the poll interval are drawn from this seed, so runs compare.
const OFFSET_SEED: u64 = 15;
/// How long a message may take to reach the queue before the sample is given up.
const GIVE_UP: Duration = Duration::from_secs(60);

/// One sample: from the change, from the record reaching the consumer (the log path) or the
/// poll starting (the poll path), to the message in the queue.
struct Sample {
    from_change: Duration,
    to_queue: Duration,
}

/// The queue subscribed to a fleet's topic, and a reader for it.
struct Inbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Inbox {
    async fn subscribe(bench: &Bench, target: &Target) -> Result<Inbox, Error> {
        let sqs = client!(aws_sdk_sqs, bench.moto.endpoint(), target.recorder);
        let url = sqs
            .create_queue()
            .queue_name(unique_name("bench-deliveries"))
            .send()
            .await?
            .queue_url
            .ok_or("CreateQueue returned no QueueUrl")?;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or("GetQueueAttributes returned no QueueArn")?;
        let sns = client!(aws_sdk_sns, bench.moto.endpoint(), target.recorder);
        sns.subscribe()
            .topic_arn(
                target
                    .poller
                    .config()
                    .alert_topic_arn
                    .as_deref()
                    .ok_or("the bench's fleet has no topic")?,
            )
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await?;
        Ok(Inbox { sqs, url })
    }

    /// Reads the queue until a message about `peer` is there; answers when it was seen,
    /// counted from `since`, and how many messages about other peers it met (and deleted).
    async fn wait_for(&self, peer: &str, since: Instant) -> Result<(Duration, usize), Error> {
        let mut others = 0;
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await?;
            let seen = since.elapsed();
            let mut found = false;
            for m in got.messages.unwrap_or_default() {
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
                let envelope: Value = serde_json::from_str(m.body().unwrap_or("{}"))?;
                let event: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or("{}"))?;
                if event["routeServerPeerId"] == peer {
                    found = true;
                } else {
                    others += 1;
                }
            }
            if found {
                return Ok((seen, others));
            }
            if seen > GIVE_UP {
                return Err(format!("no message about {peer} in the queue after {seen:?}").into());
            }
            // moto serves one request at a time: a pause leaves it to the measured work.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// The Lambda handler with one `awslogs` payload, as CloudWatch Logs invokes the consumer.
async fn deliver(poller: &Poller, records: &[Value]) -> Result<LogSummary, Error> {
    let payload = awslogs::payload(records);
    let answer =
        peerwatch_poller::handler::handle(poller, LambdaEvent::new(payload, Context::default()))
            .await
            .map_err(|e| peerwatch_core::error_chain(&e))?;
    Ok(answer
        .peer_logs()
        .ok_or("the handler answered a poll's summary to a CloudWatch Logs payload")?)
}

/// The simulator's clock in Unix milliseconds, as it stamps its records: the wall clock plus
/// what `POST /_sim/clock` added. Taken before a change, every record of the change is
/// stamped at or after it.
fn sim_now_ms(bench: &Bench) -> Result<i64, Error> {
    let answer: Value = ureq::get(format!("{}/_sim/clock", bench.sim.endpoint()))
        .call()?
        .into_body()
        .read_json()?;
    let advanced = answer["advancedSeconds"]
        .as_f64()
        .ok_or("GET /_sim/clock answered no advancedSeconds")?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    Ok(wall + (advanced * 1000.0) as i64)
}

/// The simulator's peer log records stamped at or after `since`, oldest first.
fn records_since(bench: &Bench, since: i64) -> Result<Vec<Value>, Error> {
    let answer: Value = ureq::get(format!(
        "{}/_sim/peer-logs?since={since}",
        bench.sim.endpoint()
    ))
    .call()?
    .into_body()
    .read_json()?;
    Ok(answer["records"]
        .as_array()
        .cloned()
        .ok_or("GET /_sim/peer-logs answered no records")?)
}

/// `peer`'s `BGPStatus` record saying `status` among `records`: what one change of its BGP
/// logs. The window a read asks for starts at a millisecond that may hold older records.
fn bgp_record(records: &[Value], peer: &str, status: &str) -> Result<Value, Error> {
    let found: Vec<Value> = of_peer(records, peer)
        .into_iter()
        .filter(|r| r["type"] == "BGPStatus" && r["status"] == status)
        .collect();
    match <[Value; 1]>::try_from(found) {
        Ok([record]) => Ok(record),
        Err(found) => Err(format!(
            "{peer}'s BGP {status} logged {} records, expected 1",
            found.len()
        )
        .into()),
    }
}

fn of_peer(records: &[Value], peer: &str) -> Vec<Value> {
    let end = format!("/{peer}");
    records
        .iter()
        .filter(|r| {
            r["resource_arn"]
                .as_str()
                .is_some_and(|a| a.ends_with(&end))
        })
        .cloned()
        .collect()
}

/// The nearest-rank percentile `p` (0 to 100) of the durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut d: Vec<Duration>) -> Vec<Duration> {
    d.sort();
    d
}

/// `label  n  p50  p99  max`, in ms.
fn row(label: &str, durations: Vec<Duration>) -> Duration {
    let d = sorted(durations);
    let p99 = percentile(&d, 99.0);
    println!(
        "  {label:<52} {:>7} {:>10} {:>10} {:>10}",
        d.len(),
        ms(percentile(&d, 50.0)),
        ms(p99),
        ms(d.last().copied().unwrap_or_default())
    );
    p99
}

pub async fn run(bench: &Bench, samples: usize) -> Result<(), Error> {
    let peers = ALERT_ROUTE_SERVERS * ALERT_PEERS_PER_ROUTE_SERVER;
    println!(
        "\n== time to alert: the log path beside the poll at a {} s interval ({peers} peers, {ALERT_ROUTE_SERVERS} route servers x {ALERT_PEERS_PER_ROUTE_SERVER}; {samples} changes each way) ==",
        POLL_INTERVAL.as_secs()
    );
    let target = bench
        .target_with(ALERT_ROUTE_SERVERS, ALERT_PEERS_PER_ROUTE_SERVER, 0)
        .await?;
    let discovery = bench.cycle(&target).await?;
    let inbox = Inbox::subscribe(bench, &target).await?;
    println!(
        "  discovery cycle (through the poller): {} peers recorded in {} ms; an SQS queue subscribed to the topic",
        discovery.summary.transitions_recorded,
        ms(discovery.wall)
    );
    let mut rng = fastrand::Rng::with_seed(OFFSET_SEED);
    let (mut log, mut poll, mut waits) = (Vec::new(), Vec::new(), Vec::new());
    let (mut consumer, mut others, mut unexpected) = (Vec::new(), 0, Vec::new());
    let started = Instant::now();
    for i in 0..samples {
        let peer = &target.peer_ids[i % target.peer_ids.len()];
        // Each sample takes one peer down through the log path and back up through the poll.
        let path = format!("/_sim/peers/{peer}");

        // The log path: the change, its record read back, handed to the consumer.
        let mark = sim_now_ms(bench)?;
        let changed = Instant::now();
        bench.control(&path, json!({"bgpStatus": "down"}))?;
        let records = [bgp_record(&records_since(bench, mark)?, peer, "DOWN")?];
        let reached = Instant::now();
        let (summary, seen) = tokio::join!(
            async {
                let t = Instant::now();
                let s = deliver(&target.poller, &records).await;
                (s, t.elapsed())
            },
            inbox.wait_for(peer, reached)
        );
        let (summary, took) = (summary.0?, summary.1);
        let (to_queue, met) = seen?;
        others += met;
        if (
            summary.records_received,
            summary.changes_recorded,
            summary.notifications_sent,
        ) != (1, 1, 1)
        {
            unexpected.push(format!("log path, {peer}: {summary:?}"));
        }
        consumer.push(took);
        log.push(Sample {
            from_change: reached.duration_since(changed) + to_queue,
            to_queue,
        });

        // The poll path: the same peer back up, found by the next poll.
        let changed = Instant::now();
        bench.control(&path, json!({"bgpStatus": "up"}))?;
        let polled = Instant::now();
        let (cycle, seen) = tokio::join!(
            target.poller.run(RunOptions::default()),
            inbox.wait_for(peer, polled)
        );
        let cycle = cycle?;
        let (to_queue, met) = seen?;
        others += met;
        if (cycle.transitions_recorded, cycle.notifications_sent) != (1, 1) {
            unexpected.push(format!(
                "poll path, {peer}: {} recorded, {} sent",
                cycle.transitions_recorded, cycle.notifications_sent
            ));
        }
        // The change happened at a uniformly random moment of the interval: it waits for the
        // rest of it (0 to 60 s) before the poll starts.
        let wait = POLL_INTERVAL.mul_f64(1.0 - rng.f64());
        waits.push(wait);
        poll.push(Sample {
            from_change: polled.duration_since(changed) + wait + to_queue,
            to_queue,
        });
    }
    println!(
        "  {samples} changes each way in {:.1} s; the queue is read every 2 ms while the handler or the cycle runs",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {:<52} {:>7} {:>10} {:>10} {:>10}",
        "", "samples", "p50 ms", "p99 ms", "max ms"
    );
    row(
        "log: change -> message in SQS",
        log.iter().map(|s| s.from_change).collect(),
    );
    let log_p99 = row(
        "log: record at the consumer -> message in SQS",
        log.iter().map(|s| s.to_queue).collect(),
    );
    row("log: the handler, start to answer", consumer);
    row(
        "poll: cycle start -> message in SQS (measured)",
        poll.iter().map(|s| s.to_queue).collect(),
    );
    row(
        &format!("poll: the wait for the next poll (simulated, seed {OFFSET_SEED})"),
        waits,
    );
    row(
        &format!(
            "poll: change -> message in SQS, {} s interval",
            POLL_INTERVAL.as_secs()
        ),
        poll.iter().map(|s| s.from_change).collect(),
    );
    println!(
        "  (the log path's change -> SQS includes reading the record back from the simulator; CloudWatch Logs' own delivery, from the route server to the subscription's function, is not in these figures)"
    );
    println!("  budget:");
    println!(
        "    log path p99, record at the consumer -> message in SQS <= {} s   {} ms   {}",
        BUDGET.as_secs(),
        ms(log_p99),
        verdict(log_p99 <= BUDGET)
    );
    if others != 0 {
        println!("    NOTE: {others} messages about other peers were met in the queue");
    }
    for u in unexpected.iter().take(5) {
        println!("    NOTE: {u}");
    }
    if unexpected.len() > 5 {
        println!("    NOTE: {} more samples like those", unexpected.len() - 5);
    }
    per_record(bench).await
}

/// The consumer's time per record, through the handler (payload decoded, records applied,
/// alerts published): batches of one record, then one batch of 1,000.
async fn per_record(bench: &Bench) -> Result<(), Error> {
    let peers = BATCH_ROUTE_SERVERS * BATCH_PEERS_PER_ROUTE_SERVER;
    println!(
        "\n  the log consumer's time per record ({peers} peers, {BATCH_ROUTE_SERVERS} route servers x {BATCH_PEERS_PER_ROUTE_SERVER}, discovery seeded with BatchWriteItem; storm threshold 5):"
    );
    let target = bench
        .target_with(BATCH_ROUTE_SERVERS, BATCH_PEERS_PER_ROUTE_SERVER, 0)
        .await?;
    bench.seed(&target).await?;
    bench.cycle(&target).await?;
    // Liveness alternates from the first peer: even ones use BFD.
    let alternate =
        |first: usize| -> Vec<&String> { target.peer_ids.iter().skip(first).step_by(2).collect() };
    let (bfd, keepalive) = (alternate(0), alternate(1));

    // Batches of one: a keep-alive peer's BGP down is one record, one change.
    let mut singles = Vec::new();
    let mut notes = Vec::new();
    for peer in keepalive.iter().take(SINGLE_BATCHES) {
        let mark = sim_now_ms(bench)?;
        bench.control(&format!("/_sim/peers/{peer}"), json!({"bgpStatus": "down"}))?;
        let records = [bgp_record(&records_since(bench, mark)?, peer, "DOWN")?];
        let started = Instant::now();
        let summary = deliver(&target.poller, &records).await?;
        singles.push(started.elapsed());
        if (summary.records_received, summary.changes_recorded) != (1, 1) {
            notes.push(format!("batch of 1, {peer}: {summary:?}"));
        }
    }
    let singles = sorted(singles);
    let single = percentile(&singles, 50.0);
    println!(
        "    batch of 1 record      {} batches (a keep-alive peer's BGP down each): median {} ms per record, p99 {} ms",
        singles.len(),
        ms(single),
        ms(percentile(&singles, 99.0))
    );

    // One batch of 1,000: every BFD peer flaps once, BFD and BGP down, then both up: four
    // records a peer at two instants.
    let flap = |status: &str| -> serde_json::Map<String, Value> {
        bfd.iter()
            .map(|id| {
                (
                    (*id).clone(),
                    json!({"bfdStatus": status, "bgpStatus": status}),
                )
            })
            .collect()
    };
    let mark = sim_now_ms(bench)?;
    for status in ["down", "up"] {
        bench.control("/_sim/peers", json!({ "peers": flap(status) }))?;
    }
    // The window's first millisecond may hold the last single's record: a keep-alive peer's.
    let records: Vec<Value> = records_since(bench, mark)?
        .into_iter()
        .filter(|r| {
            bfd.iter().any(|id| {
                r["resource_arn"]
                    .as_str()
                    .is_some_and(|a| a.ends_with(&format!("/{id}")))
            })
        })
        .collect();
    if records.len() != BIG_BATCH {
        notes.push(format!(
            "the flap logged {} records, not {BIG_BATCH}",
            records.len()
        ));
    }
    let started = Instant::now();
    let summary = deliver(&target.poller, &records).await?;
    let big = started.elapsed();
    let per = big.div_f64(records.len().max(1) as f64);
    println!(
        "    batch of {} records  {} BFD peers flapping once (4 records, 2 instants each): {} changes recorded, {} messages sent (grouped per route server), {} ms in all, {} ms per record",
        records.len(),
        bfd.len(),
        summary.changes_recorded,
        summary.notifications_sent,
        ms(big),
        ms(per)
    );
    println!(
        "    per record, batch of 1 / batch of {}: {:.2}x (a change is one TransactWriteItems either way; moto copies both tables for each)",
        records.len(),
        single.as_secs_f64() / per.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    for n in notes {
        println!("    NOTE: {n}");
    }
    Ok(())
}
