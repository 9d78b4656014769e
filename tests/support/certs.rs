//! Certificates made by the tests themselves (rcgen): a CA, and certificates
//! it signs for given names, valid now or expired; written as PEM files into
//! a folder of the test's own. No private key is ever committed.

use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType,
};

/// A certificate authority of a test.
pub struct Ca {
    /// Its certificate, PEM.
    pub pem: PathBuf,
    /// What signs the certificates it issues.
    issuer: Issuer<'static, KeyPair>,
    /// Where its files go.
    dir: PathBuf,
}

/// A certificate and its key, as files.
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    /// A new CA called `name`, its files in a fresh folder `dir/name`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let dir = dir.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, cert.pem()).unwrap();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
            dir,
        }
    }

    /// A certificate for `names` (DNS names, or IP addresses), valid from
    /// yesterday for a year, or `expired` (valid only in 2020).
    pub fn issue(&self, file: &str, names: &[&str], expired: bool) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.subject_alt_names = names
            .iter()
            .map(|name| match name.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().unwrap()),
            })
            .collect();
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2020, 12, 31);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let issued = Issued {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
        };
        std::fs::write(&issued.cert, cert.pem()).unwrap();
        std::fs::write(&issued.key, key.serialize_pem()).unwrap();
        issued
    }
}
