//! How much a vSphere server may make this client hold or do: every collection a SOAP peer
//! can grow has a cap here (the XML reader's own caps are in [`xml`](super::xml)). Each is
//! listed in docs/limits.md ("vSphere (SOAP)"); reaching one fails the call with
//! [`Error::LimitExceeded`](crate::Error::LimitExceeded) instead of following the server.

/// Largest SOAP answer read, in bytes. The client asks for [`PAGE_OBJECTS`] objects per
/// page, so a page of the biggest VM configurations stays well below it.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Objects asked for per `RetrievePropertiesEx` page (`options.maxObjects`).
pub const PAGE_OBJECTS: usize = 100;

/// Most objects accepted in one page: servers return at most [`PAGE_OBJECTS`]; some ignore
/// `maxObjects` for small inventories, so some slack is left.
pub const MAX_OBJECTS_PER_PAGE: usize = 10_000;

/// Most pages one property collection follows (`RetrievePropertiesEx`, then
/// `ContinueRetrievePropertiesEx` while the server hands out a token): enough for
/// [`MAX_OBJECTS`] at 40 objects a page. A server that keeps answering with a token is
/// refused here.
pub const MAX_RETRIEVE_PAGES: usize = 5_000;

/// Most objects one property collection gathers. The largest supported vCenter (45,000
/// registered VMs, 2,500 hosts, their datastores, networks and folders) stays well below.
pub const MAX_OBJECTS: usize = 200_000;

/// Most properties accepted for one object. The client asks for at most a handful per type.
pub const MAX_PROPERTIES_PER_OBJECT: usize = 256;

/// Most `QueryChangedDiskAreas` calls for one disk; each call must also move forward.
pub const MAX_CHANGED_AREA_QUERIES: usize = 65_536;

/// Most changed areas gathered for one disk (16 bytes each).
pub const MAX_CHANGED_AREAS: usize = 4_000_000;

/// A limit of [this module](self) that a server's answers reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoapLimit {
    /// [`MAX_RESPONSE_BYTES`].
    ResponseBytes,
    /// [`MAX_OBJECTS_PER_PAGE`].
    ObjectsPerPage,
    /// [`MAX_RETRIEVE_PAGES`].
    RetrievePages,
    /// [`MAX_OBJECTS`].
    Objects,
    /// [`MAX_PROPERTIES_PER_OBJECT`].
    PropertiesPerObject,
    /// [`MAX_CHANGED_AREA_QUERIES`].
    ChangedAreaQueries,
    /// [`MAX_CHANGED_AREAS`].
    ChangedAreas,
}

impl SoapLimit {
    /// The value of the limit.
    pub fn value(self) -> usize {
        match self {
            Self::ResponseBytes => MAX_RESPONSE_BYTES,
            Self::ObjectsPerPage => MAX_OBJECTS_PER_PAGE,
            Self::RetrievePages => MAX_RETRIEVE_PAGES,
            Self::Objects => MAX_OBJECTS,
            Self::PropertiesPerObject => MAX_PROPERTIES_PER_OBJECT,
            Self::ChangedAreaQueries => MAX_CHANGED_AREA_QUERIES,
            Self::ChangedAreas => MAX_CHANGED_AREAS,
        }
    }

    /// What is counted, in plural.
    fn what(self) -> &'static str {
        match self {
            Self::ResponseBytes => "bytes in one answer",
            Self::ObjectsPerPage => "objects in one page",
            Self::RetrievePages => {
                "result pages (the server keeps handing out a continuation token)"
            }
            Self::Objects => "objects in one property collection",
            Self::PropertiesPerObject => "properties for one object",
            Self::ChangedAreaQueries => "QueryChangedDiskAreas calls for one disk",
            Self::ChangedAreas => "changed areas for one disk",
        }
    }
}

impl std::fmt::Display for SoapLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "more than {} {} (the client's limit, see docs/limits.md)",
            self.value(),
            self.what()
        )
    }
}
