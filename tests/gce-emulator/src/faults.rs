//! Seeded, reproducible fault injection.
//!
//! Spec grammar (`--faults`): comma separated `KIND:PROBABILITY` entries where KIND is an
//! HTTP status (`429`, `500`, `503`, any 4xx/5xx), `reset` (drop the TCP connection without
//! answering), `reset-after` (carry the request out, then drop the connection before the
//! answer: the caller cannot know it happened), or `op:<CODE>` (a mutation's operation ends
//! `DONE` with that error code and no effect).
//! Example: `429:0.1,503:0.05,reset:0.02,op:QUOTA_EXCEEDED:0.1`.
//!
//! Deterministic faults (`--fail-method`): `<method id>:<KIND>[#<count>]`, e.g.
//! `compute.instances.insert:op:ZONE_RESOURCE_POOL_EXHAUSTED#1` fails only the first insert.
//!
//! [`Schedule::from_seed`] derives a random but reproducible mix of both from one seed, and
//! every fault actually injected is recorded ([`Injected`]), so a test can check that a
//! failed build names its cause.

use serde::{Deserialize, Serialize};

/// What to do to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer with this HTTP status and a GCE error body.
    Http(u16),
    /// Close the connection without a response.
    Reset,
    /// Carry the request out, then close the connection without a response.
    ResetAfter,
    /// Let the mutation start, but end its operation with this error code.
    Op(String),
}

impl FaultKind {
    /// Parses `429`, `reset`, `op:CODE`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("reset") {
            return Ok(FaultKind::Reset);
        }
        if s.eq_ignore_ascii_case("reset-after") {
            return Ok(FaultKind::ResetAfter);
        }
        if let Some(code) = s.strip_prefix("op:") {
            if code.is_empty()
                || !code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            {
                return Err(format!(
                    "invalid operation error code {code:?} (expected e.g. QUOTA_EXCEEDED)"
                ));
            }
            return Ok(FaultKind::Op(code.to_string()));
        }
        match s.parse::<u16>() {
            Ok(code) if (400..600).contains(&code) => Ok(FaultKind::Http(code)),
            _ => Err(format!(
                "invalid fault kind {s:?} (expected an HTTP status 400-599, `reset`, `reset-after` or `op:CODE`)"
            )),
        }
    }

    /// The spec form (`503`, `reset`, `reset-after`, `op:CODE`).
    pub fn render(&self) -> String {
        match self {
            FaultKind::Http(c) => c.to_string(),
            FaultKind::Reset => "reset".into(),
            FaultKind::ResetAfter => "reset-after".into(),
            FaultKind::Op(c) => format!("op:{c}"),
        }
    }
}

/// One probabilistic rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The fault.
    pub kind: FaultKind,
    /// Probability per request, 0..=1.
    pub probability: f64,
}

/// One deterministic rule for a method id.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodFault {
    /// Discovery method id, e.g. `compute.instances.insert`.
    pub method: String,
    /// The fault.
    pub kind: FaultKind,
    /// How many more times to fire (`None` = always).
    pub remaining: Option<u64>,
}

impl MethodFault {
    /// Parses `<method>:<kind>[#count]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (body, count) = match s.rsplit_once('#') {
            Some((b, c)) => (
                b,
                Some(
                    c.trim()
                        .parse::<u64>()
                        .map_err(|_| format!("invalid count in {s:?}"))?,
                ),
            ),
            None => (s, None),
        };
        let (method, kind) = body
            .split_once(':')
            .ok_or_else(|| format!("invalid --fail-method {s:?} (expected <method id>:<kind>)"))?;
        if !method.starts_with("compute.") {
            return Err(format!(
                "invalid method id {method:?} (expected e.g. compute.instances.insert)"
            ));
        }
        Ok(MethodFault {
            method: method.trim().to_string(),
            kind: FaultKind::parse(kind)?,
            remaining: count,
        })
    }
}

/// Parses a probabilistic spec string.
pub fn parse_spec(spec: &str) -> Result<Vec<FaultRule>, String> {
    let mut rules = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, p) = part
            .rsplit_once(':')
            .ok_or_else(|| format!("invalid fault {part:?} (expected KIND:PROBABILITY)"))?;
        let probability: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("invalid probability in {part:?}"))?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!("probability out of range in {part:?}"));
        }
        rules.push(FaultRule {
            kind: FaultKind::parse(kind)?,
            probability,
        });
    }
    let http: f64 = rules
        .iter()
        .filter(|r| !matches!(r.kind, FaultKind::Op(_)))
        .map(|r| r.probability)
        .sum();
    let op: f64 = rules
        .iter()
        .filter(|r| matches!(r.kind, FaultKind::Op(_)))
        .map(|r| r.probability)
        .sum();
    if http > 1.0 + 1e-9 || op > 1.0 + 1e-9 {
        return Err("fault probabilities add up to more than 1".into());
    }
    Ok(rules)
}

/// A small, seedable PRNG (SplitMix64) so runs are reproducible across crate versions.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One fault the emulator actually injected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injected {
    /// Discovery method id of the request it hit, e.g. `compute.instances.insert`.
    #[serde(rename = "methodId")]
    pub method_id: String,
    /// The fault.
    pub kind: FaultKind,
}

impl Injected {
    /// The spec form of the fault, e.g. `compute.instances.insert:op:QUOTA_EXCEEDED`.
    pub fn render(&self) -> String {
        format!("{}:{}", self.method_id, self.kind.render())
    }
}

/// The injected-fault log keeps at most this many entries.
const MAX_INJECTED: usize = 10_000;

/// The fault injector: rules plus its own seeded random stream.
#[derive(Debug, Clone)]
pub struct Faults {
    rules: Vec<FaultRule>,
    methods: Vec<MethodFault>,
    rng: SplitMix64,
    seed: u64,
    injected: Vec<Injected>,
}

/// Runtime fault configuration, as accepted by `POST /emulator/v1/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultUpdate {
    /// Probabilistic spec (same grammar as `--faults`); replaces the current rules when set.
    pub spec: Option<String>,
    /// Deterministic method faults; replaces the current list when set.
    pub fail_methods: Option<Vec<String>>,
    /// Re-seed the random stream.
    pub seed: Option<u64>,
    /// Change the operation latency (milliseconds).
    pub op_latency_ms: Option<u64>,
}

impl Faults {
    /// Builds an injector from parsed rules.
    pub fn new(rules: Vec<FaultRule>, methods: Vec<MethodFault>, seed: u64) -> Self {
        Faults {
            rules,
            methods,
            rng: SplitMix64::new(seed),
            seed,
            injected: Vec::new(),
        }
    }

    /// Every fault injected so far, oldest first.
    pub fn injected(&self) -> &[Injected] {
        &self.injected
    }

    /// Forgets the injected-fault log.
    pub fn clear_injected(&mut self) {
        self.injected.clear();
    }

    fn record(&mut self, method_id: &str, kind: &FaultKind) {
        if self.injected.len() < MAX_INJECTED {
            self.injected.push(Injected {
                method_id: method_id.to_string(),
                kind: kind.clone(),
            });
        }
    }

    /// Applies a runtime update (spec/fail methods/seed). Latency is handled by the caller.
    pub fn update(&mut self, u: &FaultUpdate) -> Result<(), String> {
        let rules = u.spec.as_deref().map(parse_spec).transpose()?;
        let methods = u
            .fail_methods
            .as_ref()
            .map(|v| {
                v.iter()
                    .map(|m| MethodFault::parse(m))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        if let Some(r) = rules {
            self.rules = r;
        }
        if let Some(m) = methods {
            self.methods = m;
        }
        if let Some(seed) = u.seed {
            self.seed = seed;
            self.rng = SplitMix64::new(seed);
        }
        Ok(())
    }

    /// The current configuration as JSON.
    pub fn describe(&self) -> serde_json::Value {
        let spec: Vec<String> = self
            .rules
            .iter()
            .map(|r| format!("{}:{}", r.kind.render(), r.probability))
            .collect();
        let methods: Vec<String> = self
            .methods
            .iter()
            .map(|m| match m.remaining {
                Some(n) => format!("{}:{}#{n}", m.method, m.kind.render()),
                None => format!("{}:{}", m.method, m.kind.render()),
            })
            .collect();
        serde_json::json!({"spec": spec.join(","), "failMethods": methods, "seed": self.seed})
    }

    /// Decides the transport-level fault (HTTP error or reset) for one request.
    /// Always draws exactly one random number, so the sequence is reproducible.
    pub fn request_fault(&mut self, method_id: &str) -> Option<FaultKind> {
        let roll = self.rng.next_f64();
        let fault = self.take_method_fault(method_id, false).or_else(|| {
            let mut acc = 0.0;
            self.rules
                .iter()
                .filter(|r| !matches!(r.kind, FaultKind::Op(_)))
                .find(|r| {
                    acc += r.probability;
                    roll < acc
                })
                .map(|r| r.kind.clone())
        });
        if let Some(k) = &fault {
            self.record(method_id, k);
        }
        fault
    }

    /// Decides whether a mutation's operation fails, returning the error code.
    /// Draws exactly one random number per mutation.
    pub fn op_fault(&mut self, method_id: &str) -> Option<String> {
        let roll = self.rng.next_f64();
        let code = match self.take_method_fault(method_id, true) {
            Some(FaultKind::Op(code)) => Some(code),
            _ => {
                let mut acc = 0.0;
                self.rules.iter().find_map(|r| match &r.kind {
                    FaultKind::Op(code) => {
                        acc += r.probability;
                        (roll < acc).then(|| code.clone())
                    }
                    _ => None,
                })
            }
        };
        if let Some(c) = &code {
            self.record(method_id, &FaultKind::Op(c.clone()));
        }
        code
    }

    fn take_method_fault(&mut self, method_id: &str, op: bool) -> Option<FaultKind> {
        let idx = self.methods.iter().position(|m| {
            m.method == method_id
                && matches!(m.kind, FaultKind::Op(_)) == op
                && m.remaining != Some(0)
        })?;
        let m = &mut self.methods[idx];
        if let Some(n) = m.remaining.as_mut() {
            *n -= 1;
        }
        Some(m.kind.clone())
    }
}

/// The methods a `googlecompute` build calls, in the order it calls them, with the
/// transport faults it should ride out by retrying.
pub const BUILD_METHODS: &[&str] = &[
    "compute.images.get",
    "compute.zones.get",
    "compute.machineTypes.get",
    "compute.instances.insert",
    "compute.zoneOperations.wait",
    "compute.instances.get",
    "compute.instances.delete",
    "compute.images.insert",
    "compute.globalOperations.wait",
    "compute.disks.delete",
];

/// Transport faults a schedule picks from: rate limiting (with `Retry-After`), server
/// errors and dropped connections (before and after the request was carried out).
pub const TRANSPORT_FAULTS: &[&str] = &["429", "500", "502", "503", "reset", "reset-after"];

/// Operation errors a schedule gives creations: each ends the build.
pub const INSERT_OP_ERRORS: &[&str] = &[
    "QUOTA_EXCEEDED",
    "ZONE_RESOURCE_POOL_EXHAUSTED",
    "INTERNAL_ERROR",
    "RESOURCE_OPERATION_RATE_EXCEEDED",
];

/// Operation errors a schedule gives deletions: transient ones, so a cleanup that tries
/// again deletes the resource.
pub const DELETE_OP_ERRORS: &[&str] = &["INTERNAL_ERROR", "RESOURCE_OPERATION_RATE_EXCEEDED"];

/// Background probabilities some schedules add to every request.
pub const BACKGROUND_SPEC: &str = "429:0.02,503:0.02,reset:0.01";

/// A random fault schedule derived from a seed: a few deterministic per-method faults
/// (transport faults that fire once or twice, operation errors on inserts and deletes)
/// and, for some seeds, low background probabilities. The same seed always gives the
/// same schedule, and the emulator's random stream is seeded with it too.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The seed it was derived from.
    pub seed: u64,
    /// Probabilistic spec (empty or [`BACKGROUND_SPEC`]).
    pub spec: String,
    /// Deterministic method faults, `--fail-method` syntax.
    pub fail_methods: Vec<String>,
}

impl Schedule {
    /// Derives the schedule of `seed`: one to three method faults, half of them transport
    /// faults on any [`BUILD_METHODS`] (fired once or twice), the rest operation errors,
    /// on inserts ([`INSERT_OP_ERRORS`]) or deletes ([`DELETE_OP_ERRORS`], fired once);
    /// one seed in two adds [`BACKGROUND_SPEC`].
    pub fn from_seed(seed: u64) -> Schedule {
        let mut rng = SplitMix64::new(seed ^ 0x5CED_u64.rotate_left(40));
        let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
        let entries = 1 + pick(3);
        let mut fail_methods = Vec::with_capacity(entries);
        for _ in 0..entries {
            let entry = match pick(10) {
                0..=4 => format!(
                    "{}:{}#{}",
                    BUILD_METHODS[pick(BUILD_METHODS.len())],
                    TRANSPORT_FAULTS[pick(TRANSPORT_FAULTS.len())],
                    1 + pick(2)
                ),
                5..=7 => {
                    let method = ["compute.instances.insert", "compute.images.insert"][pick(2)];
                    let code = INSERT_OP_ERRORS[pick(INSERT_OP_ERRORS.len())];
                    format!("{method}:op:{code}#1")
                }
                _ => {
                    let method = ["compute.instances.delete", "compute.disks.delete"][pick(2)];
                    let code = DELETE_OP_ERRORS[pick(DELETE_OP_ERRORS.len())];
                    format!("{method}:op:{code}#1")
                }
            };
            fail_methods.push(entry);
        }
        let spec = if pick(2) == 0 {
            BACKGROUND_SPEC.to_string()
        } else {
            String::new()
        };
        Schedule {
            seed,
            spec,
            fail_methods,
        }
    }

    /// Installs the schedule (spec, method faults and seed) in an emulator configuration.
    pub fn apply(&self, config: &mut crate::Config) {
        config.faults = self.spec.clone();
        config.fail_methods = self.fail_methods.clone();
        config.seed = self.seed;
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {}: {}", self.seed, self.fail_methods.join(", "))?;
        if !self.spec.is_empty() {
            write!(f, "; background {}", self.spec)?;
        }
        Ok(())
    }
}

/// The operation error for an `op:<CODE>` fault: (message, httpErrorStatusCode, httpErrorMessage).
pub fn op_error_details(
    code: &str,
    project: &str,
    zone: Option<&str>,
) -> (String, u16, &'static str) {
    let region = zone
        .map(|z| z.rsplit_once('-').map(|(r, _)| r).unwrap_or(z))
        .unwrap_or("global");
    match code {
        "QUOTA_EXCEEDED" if zone.is_none() => (
            "Quota 'IMAGES' exceeded.  Limit: 2000.0 globally.".to_string(),
            403,
            "FORBIDDEN",
        ),
        "QUOTA_EXCEEDED" => (
            format!("Quota 'CPUS' exceeded.  Limit: 24.0 in region {region}."),
            403,
            "FORBIDDEN",
        ),
        "ZONE_RESOURCE_POOL_EXHAUSTED" => (
            format!(
                "The zone 'projects/{project}/zones/{}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.",
                zone.unwrap_or("us-central1-a")
            ),
            503,
            "SERVICE UNAVAILABLE",
        ),
        "RESOURCE_NOT_FOUND" => ("The resource was not found".into(), 404, "NOT FOUND"),
        "RESOURCE_ALREADY_EXISTS" => ("The resource already exists".into(), 409, "CONFLICT"),
        "INTERNAL_ERROR" => (
            "Internal error. Please try again or contact Google Support.".into(),
            500,
            "INTERNAL SERVER ERROR",
        ),
        "RESOURCE_OPERATION_RATE_EXCEEDED" => (
            "Operation rate exceeded for resource.".into(),
            429,
            "TOO MANY REQUESTS",
        ),
        other => (
            format!("Injected operation error {other}."),
            400,
            "BAD REQUEST",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_and_method_faults() {
        let r = parse_spec("429:0.1,503:0.05,reset:0.02,op:QUOTA_EXCEEDED:0.1,op:ZONE_RESOURCE_POOL_EXHAUSTED:0.05").unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!(r[2].kind, FaultKind::Reset);
        assert_eq!(r[3].kind, FaultKind::Op("QUOTA_EXCEEDED".into()));
        let m = MethodFault::parse("compute.instances.insert:op:QUOTA_EXCEEDED#2").unwrap();
        assert_eq!(m.remaining, Some(2));
        assert!(parse_spec("429:2").is_err());
        assert!(parse_spec("200:0.1").is_err());
        assert!(MethodFault::parse("instances.insert:429").is_err());
    }

    #[test]
    fn same_seed_same_decisions() {
        let rules = parse_spec("429:0.3,reset:0.1,op:QUOTA_EXCEEDED:0.5").unwrap();
        let run = |seed| {
            let mut f = Faults::new(rules.clone(), vec![], seed);
            (0..200)
                .map(|_| (f.request_fault("compute.x"), f.op_fault("compute.x")))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn method_fault_count() {
        let mut f = Faults::new(
            vec![],
            vec![MethodFault::parse("compute.images.get:503#1").unwrap()],
            1,
        );
        assert_eq!(
            f.request_fault("compute.images.get"),
            Some(FaultKind::Http(503))
        );
        assert_eq!(f.request_fault("compute.images.get"), None);
    }

    #[test]
    fn schedules_are_reproducible_and_valid() {
        for seed in 0..500 {
            let a = Schedule::from_seed(seed);
            assert_eq!(a, Schedule::from_seed(seed), "seed {seed}");
            assert!((1..=3).contains(&a.fail_methods.len()), "{a}");
            assert!(parse_spec(&a.spec).is_ok(), "{a}");
            for m in &a.fail_methods {
                let parsed = MethodFault::parse(m).unwrap();
                assert!(parsed.remaining.is_some(), "{m} fires for ever");
            }
        }
        let distinct: std::collections::BTreeSet<String> = (0..200)
            .map(|s| Schedule::from_seed(s).fail_methods.join(","))
            .collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct schedules",
            distinct.len()
        );
    }

    #[test]
    fn schedules_cover_every_kind_of_fault() {
        let all: Vec<String> = (0..200)
            .flat_map(|s| Schedule::from_seed(s).fail_methods)
            .collect();
        let has = |needle: &str| all.iter().any(|m| m.contains(needle));
        for kind in [
            ":429#",
            ":500#",
            ":502#",
            ":503#",
            ":reset#",
            ":reset-after#",
            "instances.insert:op:QUOTA_EXCEEDED",
            "instances.insert:op:ZONE_RESOURCE_POOL_EXHAUSTED",
            "images.insert:op:INTERNAL_ERROR",
            "instances.delete:op:INTERNAL_ERROR",
            "disks.delete:op:RESOURCE_OPERATION_RATE_EXCEEDED",
        ] {
            assert!(has(kind), "no schedule among 200 has {kind}");
        }
        assert!((0..200).any(|s| Schedule::from_seed(s).spec.is_empty()));
        assert!((0..200).any(|s| !Schedule::from_seed(s).spec.is_empty()));
    }

    #[test]
    fn schedule_applies_to_a_config() {
        let sched = Schedule::from_seed(42);
        let mut config = crate::Config::default();
        sched.apply(&mut config);
        assert_eq!(config.seed, 42);
        assert_eq!(config.fail_methods, sched.fail_methods);
        assert_eq!(config.faults, sched.spec);
        assert!(sched.to_string().starts_with("seed 42: "));
    }

    #[test]
    fn injected_faults_are_recorded() {
        let mut f = Faults::new(
            vec![],
            vec![
                MethodFault::parse("compute.instances.insert:reset-after#1").unwrap(),
                MethodFault::parse("compute.instances.delete:op:INTERNAL_ERROR#1").unwrap(),
            ],
            3,
        );
        assert_eq!(f.request_fault("compute.images.get"), None);
        assert_eq!(
            f.request_fault("compute.instances.insert"),
            Some(FaultKind::ResetAfter)
        );
        assert_eq!(f.request_fault("compute.instances.insert"), None);
        assert_eq!(f.op_fault("compute.instances.insert"), None);
        assert_eq!(
            f.op_fault("compute.instances.delete"),
            Some("INTERNAL_ERROR".to_string())
        );
        let log: Vec<String> = f.injected().iter().map(Injected::render).collect();
        assert_eq!(
            log,
            [
                "compute.instances.insert:reset-after",
                "compute.instances.delete:op:INTERNAL_ERROR"
            ]
        );
        f.clear_injected();
        assert!(f.injected().is_empty());
    }
}
