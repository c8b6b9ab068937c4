//! How a viewer carries the signature: the one switch the issuer, the
//! rewriter, the command line and the local stack all name `url|cookies`.

use serde::Serialize;

/// `url` or `cookies`, exactly (configuration, `?mode=`, `--mode`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Delivery {
    /// A signed manifest URL: the edge parameters plus the forwarded copy,
    /// and every URI in every playlist signed by the rewriter.
    #[default]
    Url,
    /// `Set-Cookie` for the video's folder and the unsigned manifest URL;
    /// the rewriter passes playlists through when no copy is forwarded.
    Cookies,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantNames;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for name in Delivery::VARIANTS {
            let d: Delivery = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.to_string(), *name);
            assert_eq!(d.as_str(), *name);
        }
        assert_eq!(Delivery::VARIANTS, ["url", "cookies"]);
        for bad in ["URL", "Cookies", "cookie", "", " url"] {
            assert!(bad.parse::<Delivery>().is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod names {
    use strum::VariantNames;

    use crate::signing::{HashAlgorithm, KeyAlgorithm, SameSite};

    #[test]
    fn configuration_names_of_the_signing_enums() {
        assert_eq!(HashAlgorithm::VARIANTS, ["sha1", "sha256"]);
        assert_eq!("SHA256".parse(), Ok(HashAlgorithm::Sha256));
        assert_eq!("sha1".parse(), Ok(HashAlgorithm::Sha1));
        // The wire form stays exact: CloudFront spells it in capitals.
        assert_eq!(HashAlgorithm::from_param("sha256"), None);
        assert_eq!(HashAlgorithm::Sha256.to_string(), "SHA256");

        assert_eq!(KeyAlgorithm::VARIANTS, ["rsa", "ecdsa"]);
        assert_eq!("ECDSA".parse(), Ok(KeyAlgorithm::EcdsaP256));
        assert_eq!(KeyAlgorithm::EcdsaP256.to_string(), "ECDSA P-256");

        assert_eq!(SameSite::VARIANTS, ["strict", "lax", "none"]);
        assert_eq!("None".parse(), Ok(SameSite::None));
        assert!("no".parse::<SameSite>().is_err());
    }
}
