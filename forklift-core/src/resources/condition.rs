//! The status condition shared by every Forklift resource (`pkg/lib/condition`).

use serde::{Deserialize, Serialize};

use super::serde_util::is_false;

string_enum! {
    /// Severity class of a condition, spelled as upstream does.
    pub enum Category {
        /// Blocks reconciliation and readiness.
        Critical,
        /// Blocks readiness.
        Error,
        /// Non-blocking warning.
        Warn,
        /// Informational.
        Advisory,
        /// Required for readiness (e.g. `Ready`).
        Required,
    }
}

impl Category {
    /// Whether a true condition of this category blocks the resource (Critical or Error).
    pub fn is_blocker(self) -> bool {
        matches!(self, Category::Critical | Category::Error)
    }
}

string_enum! {
    /// Truth value of a condition.
    pub enum ConditionStatus {
        /// The condition holds.
        True,
        /// The condition does not hold.
        False,
        /// Not known (Kubernetes convention; upstream Forklift sets only True/False).
        Unknown,
    }
}

/// A status condition: `type`, `status`, `reason`, `category`, `message`, `suggestion`,
/// `lastTransitionTime`, `durable`, `items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready` or `VMNotFound`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// Machine-readable reason, e.g. `NotFound`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Severity class.
    pub category: Category,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// What the user can do about it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suggestion: String,
    /// When the condition last changed (RFC 3339).
    #[serde(default)]
    pub last_transition_time: String,
    /// Durable conditions survive re-staging at each reconcile.
    #[serde(default, skip_serializing_if = "is_false")]
    pub durable: bool,
    /// Objects the condition is about (e.g. VM reference strings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

impl Condition {
    /// A true condition of the given type and category with everything else empty.
    pub fn new(type_: impl Into<String>, category: Category) -> Self {
        Self {
            type_: type_.into(),
            status: ConditionStatus::True,
            reason: String::new(),
            category,
            message: String::new(),
            suggestion: String::new(),
            last_transition_time: String::new(),
            durable: false,
            items: Vec::new(),
        }
    }

    /// Sets the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Sets the suggestion.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = suggestion.into();
        self
    }

    /// Sets the items.
    pub fn with_items(mut self, items: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.items = items.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the condition is true.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }

    /// Whether the condition blocks (true and Critical or Error; upstream `HasBlockerCondition`).
    pub fn is_blocker(&self) -> bool {
        self.is_true() && self.category.is_blocker()
    }

    /// Upstream `Equal`: compares everything except `lastTransitionTime`.
    pub fn same_as(&self, other: &Condition) -> bool {
        self.type_ == other.type_
            && self.status == other.status
            && self.category == other.category
            && self.reason == other.reason
            && self.message == other.message
            && self.suggestion == other.suggestion
            && self.durable == other.durable
            && self.items == other.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_upstream_names_and_omits_empty_fields() {
        let c = Condition::new("VMNotFound", Category::Critical)
            .with_reason("NotFound")
            .with_items(["id:vm-1 name:'a' "]);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "VMNotFound", "status": "True", "reason": "NotFound",
                "category": "Critical", "lastTransitionTime": "",
                "items": ["id:vm-1 name:'a' "]
            })
        );
        assert!(c.is_blocker());
        assert!(!Condition::new("X", Category::Warn).is_blocker());
    }
}
