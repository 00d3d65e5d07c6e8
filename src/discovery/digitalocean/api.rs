//! DigitalOcean's API as it is on the wire (godo's types, the fields Prometheus reads): the
//! droplet list (`GET /v2/droplets`, paginated by `links.pages`) and the database cluster list
//! (`GET /v2/databases`). A `null` reads as Go's zero value; unknown fields are ignored.

use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of `GET /v2/droplets` (godo's `dropletsRoot`).
#[derive(Debug, Default, Deserialize)]
pub struct DropletList {
    #[serde(default, deserialize_with = "nullable")]
    pub droplets: Vec<Droplet>,
    #[serde(default)]
    pub links: Option<Links>,
}

/// godo's `Links`: where the other pages are.
#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub pages: Option<Pages>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Pages {
    #[serde(default, deserialize_with = "nullable")]
    pub prev: String,
    #[serde(default, deserialize_with = "nullable")]
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Droplet {
    #[serde(default, deserialize_with = "nullable")]
    pub id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: Slugged,
    #[serde(default, deserialize_with = "nullable")]
    pub image: Image,
    #[serde(default, deserialize_with = "nullable")]
    pub size_slug: String,
    #[serde(default, deserialize_with = "nullable")]
    pub features: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default)]
    pub networks: Option<Networks>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub vpc_uuid: String,
}

/// A region (only its slug is read).
#[derive(Debug, Default, Deserialize)]
pub struct Slugged {
    #[serde(default, deserialize_with = "nullable")]
    pub slug: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Image {
    #[serde(default, deserialize_with = "nullable")]
    pub slug: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Networks {
    #[serde(default, deserialize_with = "nullable")]
    pub v4: Vec<Network>,
    #[serde(default, deserialize_with = "nullable")]
    pub v6: Vec<Network>,
}

/// A v4 or v6 network of a droplet: its address and whether it is `public` or `private`.
#[derive(Debug, Default, Deserialize)]
pub struct Network {
    #[serde(default, deserialize_with = "nullable")]
    pub ip_address: String,
    #[serde(default, deserialize_with = "nullable", rename = "type")]
    pub kind: String,
}

/// One page of `GET /v2/databases` (godo's `databasesRoot`, which reads no links).
#[derive(Debug, Default, Deserialize)]
pub struct DatabaseList {
    #[serde(default, deserialize_with = "nullable")]
    pub databases: Vec<Database>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Database {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub engine: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default)]
    pub connection: Option<Connection>,
    #[serde(default)]
    pub private_connection: Option<Connection>,
    #[serde(default, deserialize_with = "nullable")]
    pub num_nodes: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub size: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Connection {
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
}
