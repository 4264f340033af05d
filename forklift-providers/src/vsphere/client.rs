//! The vim25 methods migration needs, over [`SoapTransport`].

use std::time::Duration;

use tracing::{debug, info};

use super::limits::{
    MAX_CHANGED_AREA_QUERIES, MAX_CHANGED_AREAS, MAX_OBJECTS, MAX_OBJECTS_PER_PAGE,
    MAX_PROPERTIES_PER_OBJECT, MAX_RETRIEVE_PAGES, PAGE_OBJECTS, SoapLimit,
};
use super::soap::{MoRef, SoapTransport};
use super::xml::{Node, escape};
use crate::capability::{ChangedArea, SecretString};
use crate::error::{Error, Result};

/// The parts of `ServiceContent` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceContent {
    /// Root folder of the inventory.
    pub root_folder: MoRef,
    /// The property collector.
    pub property_collector: MoRef,
    /// The view manager (absent on very old hosts).
    pub view_manager: Option<MoRef>,
    /// The session manager.
    pub session_manager: MoRef,
    /// `about.apiType`: `VirtualCenter` or `HostAgent`.
    pub api_type: String,
    /// `about.apiVersion`, e.g. `8.0.2.0`.
    pub api_version: String,
    /// `about.fullName`.
    pub full_name: String,
    /// `about.instanceUuid` (vCenter only).
    pub instance_uuid: String,
}

impl ServiceContent {
    /// Whether the endpoint is a vCenter (as opposed to a single ESXi host).
    pub fn is_vcenter(&self) -> bool {
        self.api_type == "VirtualCenter"
    }
}

/// One object of a property-collector answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectContent {
    /// The object.
    pub obj: MoRef,
    /// Property path → value element.
    pub props: Vec<(String, Node)>,
}

impl ObjectContent {
    /// The value element of a property path.
    pub fn prop(&self, path: &str) -> Option<&Node> {
        self.props.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    /// The text of a property path.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.prop(path).map(|n| n.text.as_str())
    }
}

/// Properties to collect for one managed object type.
#[derive(Debug, Clone)]
pub struct PropertySet<'a> {
    /// Managed object type.
    pub kind: &'a str,
    /// Property paths.
    pub paths: &'a [&'a str],
}

/// Task states reported by `Task.info.state`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TaskState {
    Running,
    Success(Option<Node>),
    Error(TaskFailure),
}

/// A task that ended in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskFailure {
    /// The task's MoRef.
    pub task: String,
    /// The vim25 fault type of `info.error.fault` (e.g. `TooManySnapshotLevels`), when given.
    pub fault: Option<String>,
    /// The task's error message (its localized message, else the fault type).
    pub message: String,
}

/// A logged-in vim25 session.
#[derive(Debug)]
pub struct Vim25Client {
    transport: SoapTransport,
    content: ServiceContent,
    task_poll_max: Duration,
    task_timeout: Duration,
    /// Kept to log in again when vCenter expires an idle session (`NotAuthenticated`).
    login: std::sync::Mutex<Option<(String, SecretString)>>,
}

/// How long a task may run before [`Vim25Client::wait_task`] gives up by default.
pub const DEFAULT_TASK_TIMEOUT: Duration = Duration::from_secs(3600);

impl Vim25Client {
    /// Retrieves the service content; no login yet.
    pub async fn new(transport: SoapTransport) -> Result<Self> {
        let content = retrieve_service_content(&transport).await?;
        if !content.api_version.is_empty() {
            transport.set_version(&content.api_version);
        }
        Ok(Self {
            transport,
            content,
            task_poll_max: Duration::from_secs(2),
            task_timeout: DEFAULT_TASK_TIMEOUT,
            login: std::sync::Mutex::new(None),
        })
    }

    /// The service content.
    pub fn content(&self) -> &ServiceContent {
        &self.content
    }

    /// The transport (HTTP client, URL, cookie).
    pub fn transport(&self) -> &SoapTransport {
        &self.transport
    }

    /// `SessionManager.Login`.
    pub async fn login(&self, user: &str, password: &SecretString) -> Result<()> {
        let body = format!(
            "{}<userName>{}</userName><password>{}</password>",
            self.content.session_manager.to_xml("_this"),
            escape(user),
            escape(password.expose())
        );
        self.transport.call("Login", &body).await?;
        info!(user, endpoint = %self.transport.sdk_url(), "logged in to vSphere");
        *self.login.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((user.to_owned(), password.clone()));
        Ok(())
    }

    /// `SessionManager.Logout`; the session cookie is forgotten either way.
    pub async fn logout(&self) -> Result<()> {
        let body = self.content.session_manager.to_xml("_this");
        *self.login.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let result = self.transport.call("Logout", &body).await.map(|_| ());
        self.transport.clear_cookie();
        result
    }

    /// Calls a method whose first parameter is `_this`.
    ///
    /// When the session has expired (`NotAuthenticated`), logs in again once and retries.
    pub async fn invoke(&self, method: &str, this: &MoRef, params: &str) -> Result<Node> {
        let body = format!("{}{params}", this.to_xml("_this"));
        match self.transport.call(method, &body).await {
            Err(e) if is_not_authenticated(&e) && self.relogin(method).await? => {
                self.transport.call(method, &body).await
            }
            other => other,
        }
    }

    /// Logs in again with the remembered credentials; `false` when there are none.
    async fn relogin(&self, method: &str) -> Result<bool> {
        let login = self.login.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some((user, password)) = login else {
            return Ok(false);
        };
        tracing::info!(method, "vSphere session expired; logging in again");
        self.transport.clear_cookie();
        self.login(&user, &password).await?;
        Ok(true)
    }

    /// Sets how long [`wait_task`](Self::wait_task) waits for one task.
    pub fn set_task_timeout(&mut self, timeout: Duration) {
        self.task_timeout = timeout;
    }

    /// `ViewManager.CreateContainerView` over `container` for `kinds`, recursive.
    pub async fn create_container_view(&self, container: &MoRef, kinds: &[&str]) -> Result<MoRef> {
        let view_manager = self
            .content
            .view_manager
            .as_ref()
            .ok_or_else(|| Error::protocol("CreateContainerView", "no ViewManager"))?;
        let mut params = container.to_xml("container");
        for kind in kinds {
            params.push_str(&format!("<type>{}</type>", escape(kind)));
        }
        params.push_str("<recursive>true</recursive>");
        let response = self
            .invoke("CreateContainerView", view_manager, &params)
            .await?;
        response
            .child("returnval")
            .and_then(MoRef::from_node)
            .ok_or_else(|| Error::protocol("CreateContainerView", "no view returned"))
    }

    /// `View.DestroyView`.
    pub async fn destroy_view(&self, view: &MoRef) -> Result<()> {
        self.invoke("DestroyView", view, "").await.map(|_| ())
    }

    /// Collects properties of every object in a container view, following
    /// `RetrievePropertiesEx` with `ContinueRetrievePropertiesEx` until the token runs out.
    pub async fn retrieve_view(
        &self,
        view: &MoRef,
        sets: &[PropertySet<'_>],
    ) -> Result<Vec<ObjectContent>> {
        let mut spec = String::from("<specSet>");
        for set in sets {
            spec.push_str(&format!("<propSet><type>{}</type>", escape(set.kind)));
            for path in set.paths {
                spec.push_str(&format!("<pathSet>{}</pathSet>", escape(path)));
            }
            spec.push_str("</propSet>");
        }
        spec.push_str(&format!(
            concat!(
                "<objectSet>{}<skip>true</skip>",
                r#"<selectSet xsi:type="TraversalSpec"><name>traverseView</name>"#,
                "<type>ContainerView</type><path>view</path><skip>false</skip></selectSet>",
                "</objectSet></specSet>"
            ),
            view.to_xml("obj")
        ));
        self.retrieve(&spec).await
    }

    /// Collects properties of explicit objects.
    pub async fn retrieve_objects(
        &self,
        objects: &[MoRef],
        kind: &str,
        paths: &[&str],
    ) -> Result<Vec<ObjectContent>> {
        let mut spec = format!("<specSet><propSet><type>{}</type>", escape(kind));
        for path in paths {
            spec.push_str(&format!("<pathSet>{}</pathSet>", escape(path)));
        }
        spec.push_str("</propSet>");
        for obj in objects {
            spec.push_str(&format!("<objectSet>{}</objectSet>", obj.to_xml("obj")));
        }
        spec.push_str("</specSet>");
        self.retrieve(&spec).await
    }

    /// One object's properties; fails with [`Error::NotFound`] when it does not exist.
    pub async fn retrieve_one(&self, obj: &MoRef, paths: &[&str]) -> Result<ObjectContent> {
        let mut found = self
            .retrieve_objects(std::slice::from_ref(obj), &obj.kind, paths)
            .await
            .map_err(|e| match e {
                Error::Fault { ref fault, .. } if fault == "ManagedObjectNotFound" => {
                    Error::NotFound {
                        kind: "managed object",
                        id: obj.value.clone(),
                    }
                }
                other => other,
            })?;
        found.pop().ok_or_else(|| Error::NotFound {
            kind: "managed object",
            id: obj.value.clone(),
        })
    }

    async fn retrieve(&self, spec_set: &str) -> Result<Vec<ObjectContent>> {
        match self.retrieve_pages(spec_set).await {
            Err(e) if is_not_authenticated(&e) && self.relogin(RETRIEVE).await? => {
                self.retrieve_pages(spec_set).await
            }
            other => other,
        }
    }

    async fn retrieve_pages(&self, spec_set: &str) -> Result<Vec<ObjectContent>> {
        let pc = &self.content.property_collector;
        let params =
            format!("{spec_set}<options><maxObjects>{PAGE_OBJECTS}</maxObjects></options>");
        let mut response = self.invoke(RETRIEVE, pc, &params).await?;
        let mut objects = Vec::new();
        let mut pages = 1usize;
        // No returnval at all means no objects.
        while let Some(result) = response.take_child("returnval") {
            let Some(token) = take_page(result, &mut objects)? else {
                break;
            };
            if pages >= MAX_RETRIEVE_PAGES {
                return Err(retrieve_limit(SoapLimit::RetrievePages));
            }
            pages += 1;
            let params = format!("<token>{}</token>", escape(&token));
            response = self
                .invoke("ContinueRetrievePropertiesEx", pc, &params)
                .await?;
        }
        debug!(objects = objects.len(), pages, "retrieved properties");
        Ok(objects)
    }

    /// Waits for a task to finish and returns its `info.result`, if any.
    pub async fn wait_task(&self, task: &MoRef, operation: &str) -> Result<Option<Node>> {
        match self.wait_task_outcome(task, operation).await? {
            Ok(result) => Ok(result),
            Err(failure) => Err(Error::Task {
                task: failure.task,
                operation: operation.to_owned(),
                message: failure.message,
            }),
        }
    }

    /// Waits for a task; a task that ends in error is the inner `Err`, with its fault type,
    /// for callers that map particular faults to their own errors.
    pub(crate) async fn wait_task_outcome(
        &self,
        task: &MoRef,
        operation: &str,
    ) -> Result<std::result::Result<Option<Node>, TaskFailure>> {
        let mut delay = Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + self.task_timeout;
        loop {
            match self.task_state(task).await? {
                TaskState::Running => {}
                TaskState::Success(result) => return Ok(Ok(result)),
                TaskState::Error(mut failure) => {
                    failure.task = task.value.clone();
                    return Ok(Err(failure));
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Task {
                    task: task.value.clone(),
                    operation: operation.to_owned(),
                    message: format!("still running after {:?}", self.task_timeout),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.task_poll_max);
        }
    }

    async fn task_state(&self, task: &MoRef) -> Result<TaskState> {
        let info = self.retrieve_one(task, &["info"]).await?;
        let info = info
            .prop("info")
            .ok_or_else(|| Error::protocol("Task.info", "missing"))?;
        Ok(match info.child_text("state").map(str::trim) {
            Some("success") => TaskState::Success(info.child("result").cloned()),
            Some("error") => {
                let error = info.child("error");
                let fault = error
                    .and_then(|e| e.child("fault"))
                    .and_then(|f| f.xsi_type())
                    .map(str::to_owned);
                let message = error
                    .and_then(|e| e.child_text("localizedMessage"))
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .or_else(|| {
                        error
                            .and_then(|e| e.child("fault"))
                            .and_then(|f| f.xsi_type())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "unknown error".to_owned());
                TaskState::Error(TaskFailure {
                    task: String::new(),
                    fault,
                    message,
                })
            }
            _ => TaskState::Running,
        })
    }

    /// Calls a `*_Task` method and waits for it.
    pub async fn run_task(&self, method: &str, this: &MoRef, params: &str) -> Result<Option<Node>> {
        let response = self.invoke(method, this, params).await?;
        let task = response
            .child("returnval")
            .and_then(MoRef::from_node)
            .ok_or_else(|| Error::protocol(method, "no task returned"))?;
        self.wait_task(&task, method).await
    }

    /// [`run_task`](Self::run_task) with a failed task as the inner `Err` (see
    /// [`wait_task_outcome`](Self::wait_task_outcome)).
    pub(crate) async fn run_task_outcome(
        &self,
        method: &str,
        this: &MoRef,
        params: &str,
    ) -> Result<std::result::Result<Option<Node>, TaskFailure>> {
        let response = self.invoke(method, this, params).await?;
        let task = response
            .child("returnval")
            .and_then(MoRef::from_node)
            .ok_or_else(|| Error::protocol(method, "no task returned"))?;
        self.wait_task_outcome(&task, method).await
    }

    /// `VirtualMachine.QueryChangedDiskAreas`, looping over `startOffset` until `capacity`.
    pub async fn query_changed_disk_areas(
        &self,
        vm: &MoRef,
        snapshot: Option<&MoRef>,
        device_key: i32,
        capacity: u64,
        change_id: &str,
    ) -> Result<Vec<ChangedArea>> {
        const METHOD: &str = "QueryChangedDiskAreas";
        let limit = |limit| Error::LimitExceeded {
            method: METHOD.to_owned(),
            limit,
        };
        let mut areas = Vec::new();
        let mut start = 0u64;
        let mut queries = 0usize;
        while start < capacity {
            if queries >= MAX_CHANGED_AREA_QUERIES {
                return Err(limit(SoapLimit::ChangedAreaQueries));
            }
            queries += 1;
            let mut params = String::new();
            if let Some(snapshot) = snapshot {
                params.push_str(&snapshot.to_xml("snapshot"));
            }
            params.push_str(&format!(
                "<deviceKey>{device_key}</deviceKey><startOffset>{start}</startOffset><changeId>{}</changeId>",
                escape(change_id)
            ));
            let response = self.invoke(METHOD, vm, &params).await?;
            let info = response
                .child("returnval")
                .ok_or_else(|| Error::protocol(METHOD, "no DiskChangeInfo"))?;
            let info_start: u64 = info.child_parse("startOffset").unwrap_or(start);
            let length: u64 = info
                .child_parse("length")
                .ok_or_else(|| Error::protocol(METHOD, "no length"))?;
            for extent in info.children_named("changedArea") {
                let (Some(offset), Some(len)) = (
                    extent.child_parse::<u64>("start"),
                    extent.child_parse::<u64>("length"),
                ) else {
                    return Err(Error::protocol(
                        "QueryChangedDiskAreas",
                        "changedArea without start or length",
                    ));
                };
                if len > 0 {
                    // Pages end at arbitrary offsets: an area running on across a page
                    // boundary comes back as two; keep it one.
                    if let Some(last) = areas.last_mut().filter(|last: &&mut ChangedArea| {
                        last.offset.checked_add(last.length) == Some(offset)
                    }) {
                        last.length = last.length.saturating_add(len);
                        continue;
                    }
                    if areas.len() >= MAX_CHANGED_AREAS {
                        return Err(limit(SoapLimit::ChangedAreas));
                    }
                    areas.push(ChangedArea {
                        offset,
                        length: len,
                    });
                }
            }
            let next = info_start.saturating_add(length);
            if length == 0 || next <= start {
                break; // the server made no progress; stop instead of looping forever
            }
            start = next;
        }
        Ok(areas)
    }
}

async fn retrieve_service_content(transport: &SoapTransport) -> Result<ServiceContent> {
    let this = MoRef::new("ServiceInstance", "ServiceInstance");
    let response = transport
        .call("RetrieveServiceContent", &this.to_xml("_this"))
        .await?;
    let rv = response
        .child("returnval")
        .ok_or_else(|| Error::protocol("RetrieveServiceContent", "no returnval"))?;
    let moref = |name: &str| rv.child(name).and_then(MoRef::from_node);
    let missing = |name: &str| Error::protocol("RetrieveServiceContent", format!("no {name}"));
    let about = rv.child("about");
    let about_text = |name: &str| {
        about
            .and_then(|a| a.child_text(name))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    Ok(ServiceContent {
        root_folder: moref("rootFolder").ok_or_else(|| missing("rootFolder"))?,
        property_collector: moref("propertyCollector")
            .ok_or_else(|| missing("propertyCollector"))?,
        view_manager: moref("viewManager"),
        session_manager: moref("sessionManager").ok_or_else(|| missing("sessionManager"))?,
        api_type: about_text("apiType"),
        api_version: about_text("apiVersion"),
        full_name: about_text("fullName"),
        instance_uuid: about_text("instanceUuid"),
    })
}

fn is_not_authenticated(error: &Error) -> bool {
    matches!(error, Error::Fault { fault, .. } if fault == "NotAuthenticated")
}

/// The method that starts a property collection.
const RETRIEVE: &str = "RetrievePropertiesEx";

fn retrieve_limit(limit: SoapLimit) -> Error {
    Error::LimitExceeded {
        method: RETRIEVE.to_owned(),
        limit,
    }
}

/// Moves the objects of one `RetrieveResult` page into `objects`, within the limits of
/// [`limits`](super::limits); returns the continuation token, if any.
fn take_page(result: Node, objects: &mut Vec<ObjectContent>) -> Result<Option<String>> {
    let token = result.child_text("token").map(str::to_owned);
    let page: Vec<Node> = result
        .children
        .into_iter()
        .filter(|c| c.name == "objects")
        .collect();
    if page.len() > MAX_OBJECTS_PER_PAGE {
        return Err(retrieve_limit(SoapLimit::ObjectsPerPage));
    }
    if objects.len() + page.len() > MAX_OBJECTS {
        return Err(retrieve_limit(SoapLimit::Objects));
    }
    for object in page {
        // Properties the session may not read come back in missingSet; an expired
        // session shows up there as NotAuthenticated rather than as a fault.
        for missing in object.children_named("missingSet") {
            let fault = missing
                .path(&["fault", "fault"])
                .and_then(Node::xsi_type)
                .unwrap_or("");
            if fault == "NotAuthenticated" {
                return Err(Error::Fault {
                    method: RETRIEVE.into(),
                    fault: fault.into(),
                    message: "session is not authenticated".into(),
                });
            }
            debug!(
                path = missing.child_text("path").unwrap_or(""),
                fault, "property not returned"
            );
        }
        if object.children_named("propSet").count() > MAX_PROPERTIES_PER_OBJECT {
            return Err(retrieve_limit(SoapLimit::PropertiesPerObject));
        }
        objects.extend(object_content(object));
    }
    Ok(token)
}

fn object_content(node: Node) -> Option<ObjectContent> {
    let obj = MoRef::from_node(node.child("obj")?)?;
    let props = node
        .children
        .into_iter()
        .filter(|c| c.name == "propSet")
        .filter_map(|mut p| {
            let name = p.child_text("name")?.trim().to_owned();
            let val = p.take_child("val")?;
            Some((name, val))
        })
        .collect();
    Some(ObjectContent { obj, props })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::xml::parse;

    fn page(objects: usize, props: usize, token: Option<&str>) -> Node {
        let prop = "<propSet><name>name</name><val>x</val></propSet>".repeat(props);
        let object = format!(r#"<objects><obj type="VirtualMachine">vm-1</obj>{prop}</objects>"#);
        let token = token
            .map(|t| format!("<token>{t}</token>"))
            .unwrap_or_default();
        parse(&format!(
            "<returnval>{token}{}</returnval>",
            object.repeat(objects)
        ))
        .unwrap()
    }

    #[test]
    fn pages_yield_objects_and_their_token() {
        let mut objects = Vec::new();
        let token = take_page(page(3, 1, Some("t1")), &mut objects).unwrap();
        assert_eq!(token.as_deref(), Some("t1"));
        assert_eq!(objects.len(), 3);
        assert_eq!(objects[0].text("name"), Some("x"));
        assert_eq!(take_page(page(1, 0, None), &mut objects).unwrap(), None);
    }

    #[test]
    fn pages_beyond_the_object_limits_are_refused() {
        let mut objects = Vec::new();
        take_page(page(MAX_OBJECTS_PER_PAGE, 0, None), &mut objects).unwrap();
        let err = take_page(page(MAX_OBJECTS_PER_PAGE + 1, 0, None), &mut objects).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: SoapLimit::ObjectsPerPage,
                ..
            }
        ));
        // The whole collection is capped too: fill up to the limit, then one more page.
        let filler = objects[0].clone();
        objects.resize(MAX_OBJECTS, filler);
        let err = take_page(page(1, 0, None), &mut objects).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("more than {MAX_OBJECTS} objects")),
            "{err}"
        );
    }

    #[test]
    fn objects_beyond_the_property_limit_are_refused() {
        let mut objects = Vec::new();
        take_page(page(1, MAX_PROPERTIES_PER_OBJECT, None), &mut objects).unwrap();
        assert_eq!(objects[0].props.len(), MAX_PROPERTIES_PER_OBJECT);
        let err =
            take_page(page(1, MAX_PROPERTIES_PER_OBJECT + 1, None), &mut objects).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: SoapLimit::PropertiesPerObject,
                ..
            }
        ));
    }
}
