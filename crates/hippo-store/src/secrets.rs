//! Values that must never reach a log line or a panic message: database
//! URLs that may carry a password, and the blob store's credentials.
//! Their `Debug` shows what helps an operator (scheme, host, option
//! names), never the secret.

use secrecy::{ExposeSecret, SecretString};

/// A database URL. `Debug` and `Display` drop the password, if any.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// The URL itself, for connecting.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        let raw = self.expose();
        match url::Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(url) => url.to_string(),
            // Not a URL: a plain SQLite path carries no credentials;
            // anything with an `@` might, and is not shown.
            Err(_) if !raw.contains('@') => raw.to_owned(),
            Err(_) => "[unparsable database URL]".to_owned(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl<'de> serde::Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Options of an `s3://` blob store (`aws_region`, `aws_access_key_id`,
/// `aws_secret_access_key`, …): every value is kept secret, `Debug` lists
/// the option names only.
#[derive(Clone, Default)]
pub struct BlobOptions(Vec<(String, SecretString)>);

impl BlobOptions {
    pub fn new(options: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            options
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        )
    }

    pub(crate) fn exposed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.expose_secret()))
    }
}

impl FromIterator<(String, String)> for BlobOptions {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(options: I) -> Self {
        Self::new(options)
    }
}

impl std::fmt::Debug for BlobOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=***")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_print_without_their_password() {
        let url = DatabaseUrl::new("postgres://hippo:Sup3rS3cret@db.internal:5432/hippo");
        for shown in [format!("{url:?}"), url.to_string()] {
            assert!(!shown.contains("Sup3rS3cret"), "{shown}");
            assert!(shown.contains("db.internal"), "{shown}");
        }
        assert_eq!(
            url.expose(),
            "postgres://hippo:Sup3rS3cret@db.internal:5432/hippo"
        );
    }

    #[test]
    fn blob_options_print_their_names_only() {
        let options = BlobOptions::new([(
            "aws_secret_access_key".to_owned(),
            "wJalrXUtnFEMI".to_owned(),
        )]);
        let shown = format!("{options:?}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(shown.contains("aws_secret_access_key"), "{shown}");
    }
}
