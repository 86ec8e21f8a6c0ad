//! Seeded, reproducible fault injection.
//!
//! Spec grammar (`--faults`): comma separated `KIND:PROBABILITY` entries where KIND is an
//! HTTP status (`429`, `500`, `503`, any 4xx/5xx), `reset` (drop the TCP connection without
//! answering), or `op:<CODE>` (a mutation's operation ends `DONE` with that error code and no
//! effect). Example: `429:0.1,503:0.05,reset:0.02,op:QUOTA_EXCEEDED:0.1`.
//!
//! Deterministic faults (`--fail-method`): `<method id>:<KIND>[#<count>]`, e.g.
//! `compute.instances.insert:op:ZONE_RESOURCE_POOL_EXHAUSTED#1` fails only the first insert.

use serde::{Deserialize, Serialize};

/// What to do to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer with this HTTP status and a GCE error body.
    Http(u16),
    /// Close the connection without a response.
    Reset,
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
                "invalid fault kind {s:?} (expected an HTTP status 400-599, `reset` or `op:CODE`)"
            )),
        }
    }

    fn render(&self) -> String {
        match self {
            FaultKind::Http(c) => c.to_string(),
            FaultKind::Reset => "reset".into(),
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

/// The fault injector: rules plus its own seeded random stream.
#[derive(Debug, Clone)]
pub struct Faults {
    rules: Vec<FaultRule>,
    methods: Vec<MethodFault>,
    rng: SplitMix64,
    seed: u64,
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
        if let Some(k) = self.take_method_fault(method_id, false) {
            return Some(k);
        }
        let mut acc = 0.0;
        for r in self
            .rules
            .iter()
            .filter(|r| !matches!(r.kind, FaultKind::Op(_)))
        {
            acc += r.probability;
            if roll < acc {
                return Some(r.kind.clone());
            }
        }
        None
    }

    /// Decides whether a mutation's operation fails, returning the error code.
    /// Draws exactly one random number per mutation.
    pub fn op_fault(&mut self, method_id: &str) -> Option<String> {
        let roll = self.rng.next_f64();
        if let Some(FaultKind::Op(code)) = self.take_method_fault(method_id, true) {
            return Some(code);
        }
        let mut acc = 0.0;
        for r in &self.rules {
            if let FaultKind::Op(code) = &r.kind {
                acc += r.probability;
                if roll < acc {
                    return Some(code.clone());
                }
            }
        }
        None
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
}
