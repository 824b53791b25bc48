//! Just enough of an XML writer for EC2 responses.

use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub struct Xml {
    buf: String,
}

pub const EC2_NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

impl Xml {
    /// Starts `<{Action}Response xmlns=...>` with its `requestId`.
    pub fn response(action: &str, request_id: &str) -> Self {
        let mut buf = String::with_capacity(4096);
        let _ = write!(
            buf,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{EC2_NAMESPACE}\">"
        );
        let mut xml = Xml { buf };
        xml.el("requestId", request_id);
        xml
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.buf, "<{tag}>");
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.buf, "</{tag}>");
        self
    }

    pub fn el(&mut self, tag: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.buf, "<{tag}>{}</{tag}>", escape(&value.to_string()));
        self
    }

    pub fn opt_el(&mut self, tag: &str, value: Option<impl std::fmt::Display>) -> &mut Self {
        if let Some(v) = value {
            self.el(tag, v);
        }
        self
    }

    /// `<{tag}><status>..</status></{tag}>`, or nothing for an empty status: how the control
    /// API makes EC2 omit an optional status (as it does for a peer it has not reached yet).
    pub fn opt_status(&mut self, tag: &str, status: &str) -> &mut Self {
        if !status.is_empty() {
            self.open(tag).el("status", status).close(tag);
        }
        self
    }

    pub fn tag_set(&mut self, tags: &[(String, String)]) -> &mut Self {
        self.open("tagSet");
        for (k, v) in tags {
            self.open("item").el("key", k).el("value", v).close("item");
        }
        self.close("tagSet")
    }

    pub fn finish(mut self, action: &str) -> String {
        let _ = write!(self.buf, "</{action}Response>");
        self.buf
    }
}
