//! `hlsgate keygen`: a new signing key pair, and what to paste into CloudFront.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{CliError, Outcome};
use hlsgate_core::signing::{KeyAlgorithm, PrivateKey, private_key_to_pem, public_key_to_pem};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key type: ecdsa (P-256: about 15x faster to sign with, smaller
    /// signatures) or rsa (2048-bit, the only RSA size CloudFront accepts).
    #[arg(long, value_parser = crate::choice::<KeyAlgorithm>(), default_value = "ecdsa")]
    algorithm: KeyAlgorithm,
    /// Directory for private.pem and public.pem (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Outcome {
    let algorithm = args.algorithm;
    let private_path = args.out.join("private.pem");
    let public_path = args.out.join("public.pem");
    for p in [&private_path, &public_path] {
        if p.exists() && !args.force {
            return Err(CliError::usage(format!(
                "{} already exists; pass --force to overwrite",
                p.display()
            )));
        }
    }
    fs::create_dir_all(&args.out).map_err(CliError::io(format!(
        "cannot create {}",
        args.out.display()
    )))?;
    let key = PrivateKey::generate(algorithm).map_err(CliError::usage)?;
    let private_pem = private_key_to_pem(&key).map_err(CliError::usage)?;
    let public = key.public_key().map_err(CliError::usage)?;
    let public_pem = public_key_to_pem(&public).map_err(CliError::usage)?;
    write_private(&private_path, private_pem.as_bytes())?;
    fs::write(&public_path, &public_pem).map_err(CliError::io(format!(
        "cannot write {}",
        public_path.display()
    )))?;

    println!(
        "Wrote {} ({algorithm}, PKCS#8, mode 0600): keep it secret; store it in the signing-keys secret.",
        private_path.display()
    );
    println!("Wrote {}", public_path.display());
    println!();
    println!(
        "Paste this public key into CloudFront (Key management > Public keys > Create public key),"
    );
    println!("then add it to the key group your distribution trusts:");
    println!();
    print!("{public_pem}");
    println!();
    // The inner single quotes keep the PEM's spaces and line breaks together:
    // SAM splits unquoted override values at spaces (infra/tests checks this).
    println!("Or give it to the SAM template (infra/template.yaml) as a parameter:");
    println!(
        "  sam deploy --parameter-overrides \"SigningPublicKey1='$(cat {})'\"",
        public_path.display()
    );
    println!();
    println!(
        "CloudFront shows the new key's id (e.g. K2JCJMDEHXQW5F); sign with it as --key-pair-id."
    );
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let err = |e: std::io::Error| CliError::io(format!("cannot write {}", path.display()))(e);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts.open(path).map_err(err)?;
        // An existing file keeps its mode on open; tighten it.
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        f.write_all(bytes).map_err(err)
    }
    #[cfg(not(unix))]
    {
        opts.open(path).map_err(err)?.write_all(bytes).map_err(err)
    }
}
