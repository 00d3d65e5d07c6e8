//! Eureka's `/apps` answer as Prometheus' Go structs read it with `encoding/xml`: elements
//! matched by local name, unknown ones ignored, numbers and booleans parsed as Go parses them
//! (an empty number is 0; anything else unparsable fails the whole answer), and each child of
//! `metadata` kept with its name and raw inner XML.

use crate::discovery::xml_tree::{self as xml, Element};

/// `<applications>`.
#[derive(Debug, Default)]
pub struct Applications {
    pub applications: Vec<Application>,
}

/// `<application>`.
#[derive(Debug, Default)]
pub struct Application {
    pub name: String,
    pub instances: Vec<Instance>,
}

/// `<port enabled="...">N</port>` and `<securePort>`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Port {
    pub port: i64,
    pub enabled: bool,
}

/// One `<metadata>` child: its local name and raw inner XML.
#[derive(Debug, Default)]
pub struct Tag {
    pub name: String,
    pub content: String,
}

/// `<dataCenterInfo>`.
#[derive(Debug, Default)]
pub struct DataCenterInfo {
    pub name: String,
    pub metadata: Option<Vec<Tag>>,
}

/// `<instance>`.
#[derive(Debug, Default)]
pub struct Instance {
    pub host_name: String,
    pub home_page_url: String,
    pub status_page_url: String,
    pub health_check_url: String,
    pub app: String,
    pub ip_addr: String,
    pub vip_address: String,
    pub secure_vip_address: String,
    pub status: String,
    pub port: Option<Port>,
    pub secure_port: Option<Port>,
    pub data_center_info: Option<DataCenterInfo>,
    pub metadata: Option<Vec<Tag>>,
    pub country_id: i64,
    pub instance_id: String,
}

/// Go's integer decoding of character data: empty is 0, otherwise trimmed and parsed.
fn go_int(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    let trimmed = text.trim();
    trimmed
        .parse::<i64>()
        .map_err(|_| format!("strconv.ParseInt: parsing {trimmed:?}: invalid syntax"))
}

/// Go's `strconv.ParseBool` of trimmed character data (empty is false).
pub fn go_bool(text: &str) -> Result<bool, String> {
    if text.is_empty() {
        return Ok(false);
    }
    match text.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "strconv.ParseBool: parsing {other:?}: invalid syntax"
        )),
    }
}

fn port(e: &Element) -> Result<Port, String> {
    Ok(Port {
        port: go_int(&e.text)?,
        enabled: go_bool(e.attr("enabled").unwrap_or(""))?,
    })
}

fn metadata(doc: &str, e: &Element) -> Vec<Tag> {
    e.children
        .iter()
        .map(|c| Tag {
            name: c.name.clone(),
            content: doc[c.inner.clone()].to_owned(),
        })
        .collect()
}

fn instance(doc: &str, e: &Element) -> Result<Instance, String> {
    let mut i = Instance::default();
    for c in &e.children {
        let text = || c.text.clone();
        match c.name.as_str() {
            "hostName" => i.host_name = text(),
            "homePageUrl" => i.home_page_url = text(),
            "statusPageUrl" => i.status_page_url = text(),
            "healthCheckUrl" => i.health_check_url = text(),
            "app" => i.app = text(),
            "ipAddr" => i.ip_addr = text(),
            "vipAddress" => i.vip_address = text(),
            "secureVipAddress" => i.secure_vip_address = text(),
            "status" => i.status = text(),
            "port" => i.port = Some(port(c)?),
            "securePort" => i.secure_port = Some(port(c)?),
            "dataCenterInfo" => {
                let mut info = DataCenterInfo::default();
                for d in &c.children {
                    match d.name.as_str() {
                        "name" => info.name = d.text.clone(),
                        "metadata" => info.metadata = Some(metadata(doc, d)),
                        _ => {}
                    }
                }
                i.data_center_info = Some(info);
            }
            "metadata" => i.metadata = Some(metadata(doc, c)),
            "isCoordinatingDiscoveryServer" => {
                go_bool(&c.text)?;
            }
            "countryId" => i.country_id = go_int(&c.text)?,
            "instanceId" => i.instance_id = text(),
            _ => {}
        }
    }
    Ok(i)
}

/// Decodes an `/apps` answer.
pub fn decode(doc: &str) -> Result<Applications, String> {
    let root = xml::parse(doc)?;
    let mut apps = Applications::default();
    for c in &root.children {
        match c.name.as_str() {
            "versions__delta" => {
                go_int(&c.text)?;
            }
            "application" => {
                let mut app = Application::default();
                for a in &c.children {
                    match a.name.as_str() {
                        "name" => app.name = a.text.clone(),
                        "instance" => app.instances.push(instance(doc, a)?),
                        _ => {}
                    }
                }
                apps.applications.push(app);
            }
            _ => {}
        }
    }
    Ok(apps)
}
