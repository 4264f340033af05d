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

/// Conditions keyed by type, as upstream's `condition.Conditions` holds them: setting a
/// condition whose type is already present replaces it in place (upstream `SetCondition`), so
/// when several checks share a type (`NotValid`, `DuplicateVM`...) the last one set wins and
/// the order is that of each type's first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionSet {
    list: Vec<Condition>,
}

impl ConditionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a condition: replaces the one of the same type, else appends.
    pub fn set(&mut self, condition: Condition) {
        match self.list.iter_mut().find(|c| c.type_ == condition.type_) {
            Some(slot) => *slot = condition,
            None => self.list.push(condition),
        }
    }

    /// The condition of this type, if set.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        self.list.iter().find(|c| c.type_ == type_)
    }

    /// Whether a condition of this type is set.
    pub fn has(&self, type_: &str) -> bool {
        self.get(type_).is_some()
    }

    /// Whether any set condition blocks (upstream `HasBlockerCondition`).
    pub fn has_blocker(&self) -> bool {
        self.list.iter().any(Condition::is_blocker)
    }

    /// The conditions in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Condition> {
        self.list.iter()
    }

    /// The conditions in order, as a list.
    pub fn into_vec(self) -> Vec<Condition> {
        self.list
    }
}

impl FromIterator<Condition> for ConditionSet {
    fn from_iter<I: IntoIterator<Item = Condition>>(iter: I) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

impl Extend<Condition> for ConditionSet {
    fn extend<I: IntoIterator<Item = Condition>>(&mut self, iter: I) {
        for c in iter {
            self.set(c);
        }
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

    #[test]
    fn a_condition_set_keeps_one_condition_per_type_the_last_set_in_first_place() {
        let mut set = ConditionSet::new();
        set.set(Condition::new("NotValid", Category::Critical).with_message("first"));
        set.set(Condition::new("Other", Category::Warn));
        set.set(Condition::new("NotValid", Category::Advisory).with_message("second"));
        let list = set.clone().into_vec();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].type_, "NotValid");
        assert_eq!(list[0].message, "second");
        assert_eq!(list[0].category, Category::Advisory);
        assert_eq!(list[1].type_, "Other");
        assert!(set.has("Other") && !set.has("Missing"));
        assert!(!set.has_blocker());
    }
}
