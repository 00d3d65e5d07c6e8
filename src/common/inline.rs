//! Go's inline YAML keys (`yaml:",inline"`) for serde: a group of keys (such as the HTTP client
//! settings) read inline in an enclosing map, unknown keys still errors at their position.
//!
//! serde's `flatten` cannot be combined with `deny_unknown_fields` and loses YAML positions, so
//! embedding works with [`InlineKeys`] and [`WithInline`] instead: the enclosing struct derives
//! its own keys with `#[serde(remote = "Self", deny_unknown_fields)]` and skips the embedded
//! field; the [`inline_struct!`](crate::inline_struct) macro gives it a `Deserialize` that
//! routes each key, as it is read, either to the derived code or to the embedded settings (and,
//! asked to, a `Serialize` that writes both in one map).
//!
//! ```
//! use promsd::common::http_config::HttpClientConfig;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize, Serialize)]
//! #[serde(remote = "Self", deny_unknown_fields)]
//! pub struct MySdConfig {
//!     url: String,
//!     #[serde(skip)]
//!     http_client_config: HttpClientConfig,
//! }
//!
//! // Optional: checks run once the map is read, here Prometheus' own HTTP checks.
//! fn check(c: &mut MySdConfig) -> Result<(), String> {
//!     c.http_client_config.validate().map_err(|e| e.to_string())
//! }
//! promsd::inline_struct!(MySdConfig, http_client_config: HttpClientConfig, finish = check, serialize);
//!
//! let c: MySdConfig = serde_yaml::from_str("url: http://a\nbearer_token: t\n").unwrap();
//! assert_eq!(c.url, "http://a");
//! // Validation moved the deprecated bearer_token into authorization, as Prometheus does.
//! assert_eq!(c.http_client_config.authorization.as_ref().unwrap().kind, "Bearer");
//! // Written back as one map, the secret hidden.
//! let shown = serde_yaml::to_string(&c).unwrap();
//! assert!(shown.starts_with("url: http://a\n") && shown.contains("credentials: <secret>"));
//! let err = serde_yaml::from_str::<MySdConfig>("url: x\nbearer_tokn: t\n").unwrap_err();
//! assert_eq!(err.location().unwrap().line(), 2);
//! assert!(err.to_string().contains("unknown field `bearer_tokn`"));
//! let err = serde_yaml::from_str::<MySdConfig>("url: x\nbasic_auth: {}\nbearer_token: t\n");
//! assert!(err.is_err());
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// A group of keys read inline in an enclosing YAML map (Go's `yaml:",inline"`).
pub trait InlineKeys: Default {
    /// Whether `key` belongs to this group; `Err(message)` rejects the key where it stands.
    fn claims(key: &str) -> Result<bool, String>;

    /// Reads the value of a claimed `key`.
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Two groups read inline in the same map; the first claims a key first.
impl<X: InlineKeys, Y: InlineKeys> InlineKeys for (X, Y) {
    fn claims(key: &str) -> Result<bool, String> {
        Ok(X::claims(key)? || Y::claims(key)?)
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if X::claims(key).unwrap_or(false) {
            self.0.read_value(key, map)
        } else {
            self.1.read_value(key, map)
        }
    }
}

/// A struct whose own keys are derived by serde (with `#[serde(remote = "Self")]`) and that
/// embeds an [`InlineKeys`] group. Implement it with [`inline_struct!`](crate::inline_struct).
pub trait WithInline<'de>: Sized {
    type Inline: InlineKeys;

    /// The derived deserializer (the inherent `Self::deserialize` that `remote = "Self"` makes).
    fn deserialize_own<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;

    /// Stores the embedded group after the map has been read.
    fn set_inline(&mut self, inline: Self::Inline);

    /// Checks run once the whole map has been read; the message becomes a YAML error.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Deserializes a [`WithInline`] struct from a map (or `null`, read as an empty map).
pub fn deserialize_with_inline<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: WithInline<'de>,
{
    d.deserialize_map(InlineVisitor(PhantomData))
}

struct InlineVisitor<T>(PhantomData<T>);

impl<'de, T: WithInline<'de>> Visitor<'de> for InlineVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        let empty = de::value::MapDeserializer::<_, E>::new(std::iter::empty::<(String, String)>());
        let mut value = T::deserialize_own(empty)?;
        value.finish().map_err(E::custom)?;
        Ok(value)
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        self.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let mut inline = T::Inline::default();
        let routed = RoutedMap {
            map,
            inline: &mut inline,
        };
        let mut value = T::deserialize_own(de::value::MapAccessDeserializer::new(routed))?;
        value.set_inline(inline);
        value.finish().map_err(de::Error::custom)?;
        Ok(value)
    }
}

/// A map that hands the keys of the inline group to it and the others to the derived code.
struct RoutedMap<'a, A, I> {
    map: A,
    inline: &'a mut I,
}

impl<'de, A: MapAccess<'de>, I: InlineKeys> MapAccess<'de> for RoutedMap<'_, A, I> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            let routed = self.map.next_key_seed(KeyRouter::<K, I> {
                seed: &mut seed,
                inline: PhantomData,
            })?;
            match routed {
                None => return Ok(None),
                Some(Routed::Own(value)) => return Ok(Some(value)),
                Some(Routed::Inline(key)) => self.inline.read_value(&key, &mut self.map)?,
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        None
    }
}

enum Routed<T> {
    Own(T),
    Inline(String),
}

/// Reads a key where it stands in the input (so errors about it carry its position) and
/// routes it.
struct KeyRouter<'s, K, I> {
    seed: &'s mut Option<K>,
    inline: PhantomData<I>,
}

impl<'de, K: DeserializeSeed<'de>, I: InlineKeys> DeserializeSeed<'de> for KeyRouter<'_, K, I> {
    type Value = Routed<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>, I: InlineKeys> Visitor<'de> for KeyRouter<'_, K, I> {
    type Value = Routed<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if I::claims(key).map_err(E::custom)? {
            return Ok(Routed::Inline(key.to_owned()));
        }
        let seed = self
            .seed
            .take()
            .expect("a key is routed to the derived code once");
        // The derived code rejects only unknown keys here; its list of expected keys would
        // leave the inline ones out, so it is not repeated.
        seed.deserialize(de::value::StrDeserializer::<E>::new(key))
            .map(Routed::Own)
            .map_err(|_| E::custom(format_args!("unknown field `{key}`")))
    }
}

/// Gives a struct with `#[serde(remote = "Self")]` and a skipped embedded field a `Deserialize`
/// that reads the embedded group's keys inline. An optional `finish = path` names a
/// `fn(&mut Self) -> Result<(), String>` run after reading. A trailing `serialize` also gives
/// it a `Serialize` that writes the embedded group's keys inline after the derived ones (the
/// struct then derives `Serialize` with `remote = "Self"` as well).
#[macro_export]
macro_rules! inline_struct {
    ($ty:ty, $field:ident : $inline:ty $(, finish = $finish:path)?, serialize) => {
        $crate::inline_struct!($ty, $field: $inline $(, finish = $finish)?);

        impl ::serde::Serialize for $ty {
            /// The derived keys, then the embedded group's keys, in one map.
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                struct Own<'a>(&'a $ty);
                impl ::serde::Serialize for Own<'_> {
                    fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        // The inherent, derived `serialize` that `remote = "Self"` makes.
                        <$ty>::serialize(self.0, s)
                    }
                }
                #[derive(::serde::Serialize)]
                struct Full<'a> {
                    #[serde(flatten)]
                    own: Own<'a>,
                    #[serde(flatten)]
                    inline: &'a $inline,
                }
                ::serde::Serialize::serialize(
                    &Full {
                        own: Own(self),
                        inline: &self.$field,
                    },
                    s,
                )
            }
        }
    };
    ($ty:ty, $field:ident : $inline:ty $(, finish = $finish:path)?) => {
        impl<'de> $crate::common::inline::WithInline<'de> for $ty {
            type Inline = $inline;

            fn deserialize_own<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(d)
            }

            fn set_inline(&mut self, inline: $inline) {
                self.$field = inline;
            }

            $(fn finish(&mut self) -> Result<(), String> {
                $finish(self)
            })?
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::common::inline::deserialize_with_inline(d)
            }
        }
    };
}

/// Deserializes a group of inline keys standing alone as a map, unknown keys being errors.
pub(crate) fn deserialize_alone<'de, D: Deserializer<'de>, I: InlineKeys>(
    d: D,
    keys: &'static [&'static str],
) -> Result<I, D::Error> {
    struct Alone<I>(&'static [&'static str], PhantomData<I>);

    impl<'de, I: InlineKeys> Visitor<'de> for Alone<I> {
        type Value = I;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_unit<E: de::Error>(self) -> Result<I, E> {
            Ok(I::default())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<I, A::Error> {
            let mut out = I::default();
            while let Some(key) = map.next_key_seed(KnownKey::<I>(self.0, PhantomData))? {
                out.read_value(&key, &mut map)?;
            }
            Ok(out)
        }
    }

    d.deserialize_map(Alone::<I>(keys, PhantomData))
}

/// A key that must be claimed by `I`, checked where it stands.
struct KnownKey<I>(&'static [&'static str], PhantomData<I>);

impl<'de, I: InlineKeys> DeserializeSeed<'de> for KnownKey<I> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, I: InlineKeys> Visitor<'de> for KnownKey<I> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if I::claims(key).map_err(E::custom)? {
            Ok(key.to_owned())
        } else {
            Err(E::unknown_field(key, self.0))
        }
    }
}
