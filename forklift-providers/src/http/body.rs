//! The one reader of a peer's answer body within a limit, for every client that talks HTTP
//! to a peer (vSphere SOAP, the oVirt engine, OpenStack, the CDI upload proxy).
//!
//! A success body past its limit is refused: the caller would parse it, and a peer must not
//! make it hold an unbounded answer. An error body (any status but 2xx) is, by the caller's
//! [`ErrorBody`] choice, either cut (it is only quoted in a message) or refused like a
//! success body (vSphere parses a SOAP fault, sent with HTTP 500, in full). A declared
//! `Content-Length` past a limit that would refuse is refused before any byte is read.
//!
//! [`CappedBody`] holds the rule over bytes; [`read_capped`] only feeds it a response's
//! chunks.

/// What to do with an error answer's body (any status but 2xx) past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBody {
    /// Keep its first bytes, up to this many, and stop reading: it is only quoted.
    Cut(usize),
    /// Refuse it past this many bytes, as a success body is: it is parsed in full.
    Refuse(usize),
}

/// The limits of one answer body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest success (2xx) body; a larger one is refused.
    pub success: usize,
    /// What is kept of an error body.
    pub error: ErrorBody,
}

/// Why an answer body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed while the body was read.
    #[error("reading the answer body failed")]
    Transport(#[source] reqwest::Error),
    /// The body passes its limit (its declared `Content-Length`, or the bytes sent).
    #[error("the answer body passes its limit of {limit} bytes")]
    TooLarge {
        /// The limit it passed.
        limit: usize,
    },
}

/// An answer body being collected under [`BodyLimits`]: the rule without the I/O.
#[derive(Debug)]
pub struct CappedBody {
    body: Vec<u8>,
    limit: usize,
    cut: bool,
}

impl CappedBody {
    /// Starts a body of an answer with a success status or not and the `Content-Length` it
    /// declares; refuses a declared length past a limit that refuses.
    pub fn start(
        success: bool,
        declared: Option<u64>,
        limits: BodyLimits,
    ) -> Result<Self, BodyError> {
        let (limit, cut) = match (success, limits.error) {
            (true, _) => (limits.success, false),
            (false, ErrorBody::Cut(limit)) => (limit, true),
            (false, ErrorBody::Refuse(limit)) => (limit, false),
        };
        let declared = declared.unwrap_or(0);
        if !cut && declared > limit as u64 {
            return Err(BodyError::TooLarge { limit });
        }
        // Reserve what is declared, never more than the limit (a cut body may declare more).
        let reserve = usize::try_from(declared).unwrap_or(usize::MAX).min(limit);
        Ok(Self {
            body: Vec::with_capacity(reserve),
            limit,
            cut,
        })
    }

    /// Adds the next chunk. `Ok(true)`: the body is complete as far as it is kept (a cut
    /// body reached its limit), read no further.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, BodyError> {
        let room = self.limit - self.body.len();
        if chunk.len() > room {
            if !self.cut {
                return Err(BodyError::TooLarge { limit: self.limit });
            }
            self.body.extend_from_slice(&chunk[..room]);
            return Ok(true);
        }
        self.body.extend_from_slice(chunk);
        Ok(self.cut && self.body.len() == self.limit)
    }

    /// The body as kept.
    pub fn finish(self) -> Vec<u8> {
        self.body
    }
}

/// Reads `response`'s body under `limits` (see the [module](self) for the rule).
pub async fn read_capped(
    mut response: reqwest::Response,
    limits: BodyLimits,
) -> Result<Vec<u8>, BodyError> {
    let mut body = CappedBody::start(
        response.status().is_success(),
        response.content_length(),
        limits,
    )?;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.push(&chunk)? {
            break;
        }
    }
    Ok(body.finish())
}

#[cfg(test)]
mod tests;
