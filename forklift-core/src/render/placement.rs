//! Target scheduling checks: `targetAffinity` rules as the guide describes them (weights
//! 1–100, operators Exists/DoesNotExist/In/NotIn, topology keys for workload rules).

use crate::resources::{
    Affinity, LabelSelector, NodeSelectorRequirement, PodAffinityTerm, WeightedPodAffinityTerm,
};

/// Problems in an affinity, each as `path: message`.
pub fn affinity_problems(affinity: &Affinity) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(node) = &affinity.node_affinity {
        for (i, pref) in node.preferred.iter().enumerate() {
            let path = format!(
                "targetAffinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            );
            weight(pref.weight, &path, &mut out);
            for (j, req) in pref.preference.match_expressions.iter().enumerate() {
                node_requirement(
                    req,
                    &format!("{path}.preference.matchExpressions[{j}]"),
                    &mut out,
                );
            }
        }
        if let Some(required) = &node.required {
            let path = "targetAffinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution";
            if required.node_selector_terms.is_empty() {
                out.push(format!(
                    "{path}.nodeSelectorTerms: at least one term is required"
                ));
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                for (j, req) in term.match_expressions.iter().enumerate() {
                    node_requirement(
                        req,
                        &format!("{path}.nodeSelectorTerms[{i}].matchExpressions[{j}]"),
                        &mut out,
                    );
                }
            }
        }
    }
    if let Some(pod) = &affinity.pod_affinity {
        pod_terms(
            &pod.required,
            &pod.preferred,
            "targetAffinity.podAffinity",
            &mut out,
        );
    }
    if let Some(anti) = &affinity.pod_anti_affinity {
        pod_terms(
            &anti.required,
            &anti.preferred,
            "targetAffinity.podAntiAffinity",
            &mut out,
        );
    }
    out
}

fn weight(w: i32, path: &str, out: &mut Vec<String>) {
    if !(1..=100).contains(&w) {
        out.push(format!("{path}.weight: {w} is outside 1-100"));
    }
}

fn operator(op: &str, values: usize, node: bool, path: &str, out: &mut Vec<String>) {
    match op {
        "In" | "NotIn" if values == 0 => {
            out.push(format!("{path}: operator {op} needs at least one value"))
        }
        "Exists" | "DoesNotExist" if values > 0 => {
            out.push(format!("{path}: operator {op} takes no values"))
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        "Gt" | "Lt" if node => {
            if values != 1 {
                out.push(format!("{path}: operator {op} needs exactly one value"));
            }
        }
        other => out.push(format!(
            "{path}: unknown operator {other:?} (Exists, DoesNotExist, In, NotIn)"
        )),
    }
}

fn node_requirement(req: &NodeSelectorRequirement, path: &str, out: &mut Vec<String>) {
    if req.key.is_empty() {
        out.push(format!("{path}.key: must not be empty"));
    }
    operator(&req.operator, req.values.len(), true, path, out);
}

fn selector(sel: &LabelSelector, path: &str, out: &mut Vec<String>) {
    for (i, req) in sel.match_expressions.iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        if req.key.is_empty() {
            out.push(format!("{p}.key: must not be empty"));
        }
        operator(&req.operator, req.values.len(), false, &p, out);
    }
}

fn pod_term(term: &PodAffinityTerm, path: &str, out: &mut Vec<String>) {
    if term.topology_key.is_empty() {
        out.push(format!("{path}.topologyKey: must not be empty"));
    }
    if let Some(sel) = &term.label_selector {
        selector(sel, &format!("{path}.labelSelector"), out);
    }
    if let Some(sel) = &term.namespace_selector {
        selector(sel, &format!("{path}.namespaceSelector"), out);
    }
}

fn pod_terms(
    required: &[PodAffinityTerm],
    preferred: &[WeightedPodAffinityTerm],
    path: &str,
    out: &mut Vec<String>,
) {
    for (i, term) in required.iter().enumerate() {
        pod_term(
            term,
            &format!("{path}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"),
            out,
        );
    }
    for (i, w) in preferred.iter().enumerate() {
        let p = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
        weight(w.weight, &p, out);
        pod_term(&w.pod_affinity_term, &format!("{p}.podAffinityTerm"), out);
    }
}
