//! Azure resource IDs (`/subscriptions/<id>/resourceGroups/<group>/providers/<ns>/<type>/<name>`)
//! read as azcore's `arm.ParseResourceID` reads them: the resource group (kept in its case)
//! and the last resource's name, with the SDK's errors for IDs it refuses.

/// What a parsed ID tells the discovery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceId {
    pub resource_group: String,
    pub name: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tenant,
    Subscription,
    ResourceGroup,
    Other,
}

struct Node {
    kind: Kind,
    resource_group: String,
    name: String,
}

impl Node {
    fn child(&self, type_name: &str, name: &str) -> Node {
        let kind = if type_name.eq_ignore_ascii_case("resourceGroups")
            && self.kind == Kind::Subscription
        {
            Kind::ResourceGroup
        } else if type_name.eq_ignore_ascii_case("subscriptions") && self.kind == Kind::Tenant {
            Kind::Subscription
        } else {
            Kind::Other
        };
        Node {
            kind,
            resource_group: if kind == Kind::ResourceGroup {
                name.to_owned()
            } else {
                self.resource_group.clone()
            },
            name: name.to_owned(),
        }
    }
}

/// Parses `id`; the error is azcore's (`invalid resource ID: ...`).
pub fn parse(id: &str) -> Result<ResourceId, String> {
    if !id.starts_with('/') {
        return Err(format!(
            "invalid resource ID: resource id '{id}' must start with '/'"
        ));
    }
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    let invalid = || format!("invalid resource ID: {id}");
    if parts.len() < 2
        || !(parts[0].eq_ignore_ascii_case("subscriptions")
            || parts[0].eq_ignore_ascii_case("providers"))
    {
        return Err(invalid());
    }
    let mut node = Node {
        kind: Kind::Tenant,
        resource_group: String::new(),
        name: String::new(),
    };
    let mut rest = &parts[..];
    loop {
        match rest.len() {
            0 => break,
            1 => {
                if rest[0].eq_ignore_ascii_case("subscriptions")
                    || rest[0].eq_ignore_ascii_case("resourceGroups")
                    || node.kind == Kind::ResourceGroup
                {
                    return Err(invalid());
                }
                node = node.child(rest[0], "");
                break;
            }
            _ => {}
        }
        let is_providers = rest[0].eq_ignore_ascii_case("providers");
        if is_providers && (rest.len() == 2 || rest[2].eq_ignore_ascii_case("providers")) {
            if node.kind != Kind::Subscription && node.kind != Kind::Tenant {
                return Err(invalid());
            }
            node = Node {
                kind: Kind::Other,
                resource_group: node.resource_group.clone(),
                name: rest[1].to_owned(),
            };
            rest = &rest[2..];
        } else if rest.len() > 3 && is_providers {
            node = Node {
                kind: Kind::Other,
                resource_group: node.resource_group.clone(),
                name: rest[3].to_owned(),
            };
            rest = &rest[4..];
        } else if !is_providers {
            node = node.child(rest[0], rest[1]);
            rest = &rest[2..];
        } else {
            return Err(invalid());
        }
    }
    Ok(ResourceId {
        resource_group: node.resource_group,
        name: node.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus' `TestNewAzureResourceFromID`.
    #[test]
    fn upstream_new_azure_resource_from_id() {
        for (id, group, name) in [
            (
                "/subscriptions/SUBSCRIPTION_ID/resourceGroups/group/providers/PROVIDER/TYPE/name",
                "group",
                "name",
            ),
            (
                "/subscriptions/SUBSCRIPTION_ID/resourceGroups/group/providers/PROVIDER/TYPE/name/TYPE/h",
                "group",
                "h",
            ),
        ] {
            let r = parse(id).unwrap();
            assert_eq!((r.resource_group.as_str(), r.name.as_str()), (group, name));
        }
    }

    #[test]
    fn subscription_child_without_group() {
        let r = parse("/subscriptions/00000000-0000-0000-0000-000000000000/test").unwrap();
        assert_eq!(r.resource_group, "");
        assert_eq!(r.name, "");
    }

    #[test]
    fn keeps_the_case_of_the_group() {
        let r = parse("/subscriptions/s/resourcegroups/My-Group/providers/Microsoft.Network/networkInterfaces/nic0").unwrap();
        assert_eq!(r.resource_group, "My-Group");
        assert_eq!(r.name, "nic0");
    }

    #[test]
    fn refuses_what_azcore_refuses() {
        assert_eq!(
            parse("test").unwrap_err(),
            "invalid resource ID: resource id 'test' must start with '/'"
        );
        for id in [
            "/subscriptions",
            "/foo/bar",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/resourceGroups/g/x",
        ] {
            assert_eq!(parse(id).unwrap_err(), format!("invalid resource ID: {id}"));
        }
    }
}
