//! OCI images of the bundled services without a container daemon: one
//! layer holding the release binary, the shared libraries it loads (found
//! with `ldd`), CA certificates and a non-root user, written as an OCI image
//! layout. Reproducible: entries sorted, owners and modes fixed, every
//! timestamp the commit's time, gzip without a name or time — so the same
//! binary at the same commit gives the same digest.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use oci_spec::image::{
    ConfigBuilder, Descriptor, DescriptorBuilder, ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder,
    MediaType, RootFsBuilder, SCHEMA_VERSION,
};
use sha2::{Digest, Sha256};

/// The user the services run as (the chart's `runAsUser`).
pub const USER: u32 = 65532;
/// Where the CA bundle goes (and `SSL_CERT_FILE` points).
pub const CA_PATH: &str = "etc/ssl/certs/ca-certificates.crt";

/// What goes into one image.
pub struct Spec<'a> {
    pub service: &'a str,
    pub binary: &'a Path,
    pub ca_bundle: &'a Path,
    /// `org.opencontainers.image.source` / `.revision`.
    pub source: &'a str,
    pub revision: &'a str,
    /// Seconds since the epoch for every timestamp (the commit's time).
    pub epoch: u64,
    /// `org.opencontainers.image.ref.name` in the layout's index.
    pub tag: &'a str,
}

/// A written image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Built {
    pub service: String,
    pub layout: PathBuf,
    pub tag: String,
    /// The manifest's digest: what a registry and the Helm values name.
    pub digest: String,
    /// Compressed bytes a pull downloads (layer + config + manifest).
    pub size: u64,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The shared libraries `binary` loads, as absolute paths (the dynamic loader included).
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let ldd = crate::process::Process::new("ldd").arg(binary.display().to_string());
    let out = ldd.output().context("cannot run `ldd` (install libc-bin)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // A static binary: nothing to add.
        if text.contains("not a dynamic executable") || String::from_utf8_lossy(&out.stderr).contains("not a dynamic") {
            return Ok(Vec::new());
        }
        bail!("`{ldd}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim().split(' ').next().unwrap_or(""),
            None => line.split(' ').next().unwrap_or(""),
        };
        if path == "not" || line.contains("not found") {
            bail!("`{}` needs a library that is not installed: {line}", binary.display());
        }
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    libs.sort();
    libs.dedup();
    Ok(libs)
}

/// The layer's files: path inside the image (no leading `/`) → (mode, contents).
fn layer_files(spec: &Spec<'_>) -> Result<BTreeMap<String, (u32, Vec<u8>)>> {
    let mut files = BTreeMap::new();
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()));
    files.insert(format!("usr/local/bin/{}", spec.service), (0o755, read(spec.binary)?));
    for lib in shared_libraries(spec.binary)? {
        let inside = lib.to_string_lossy().trim_start_matches('/').to_string();
        files.insert(inside, (0o755, read(&lib)?));
    }
    files.insert(CA_PATH.into(), (0o644, read(spec.ca_bundle)?));
    files.insert(
        "etc/passwd".into(),
        (
            0o644,
            format!(
                "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:{USER}:{USER}:nonroot:/home/nonroot:/sbin/nologin\n"
            )
            .into_bytes(),
        ),
    );
    files.insert("etc/group".into(), (0o644, format!("root:x:0:\nnonroot:x:{USER}:\n").into_bytes()));
    Ok(files)
}

/// The uncompressed layer: directories then files, in path order, owned by
/// root, every time `epoch`.
fn layer_tar(spec: &Spec<'_>) -> Result<Vec<u8>> {
    let files = layer_files(spec)?;
    let mut dirs: BTreeMap<String, u32> = BTreeMap::new();
    for path in files.keys() {
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.entry(parent.to_string()).or_insert(0o755);
            p = parent;
        }
    }
    dirs.insert("tmp".into(), 0o1777);
    dirs.insert("home/nonroot".into(), 0o755);
    dirs.entry("home".into()).or_insert(0o755);
    let mut entries: Vec<(String, u32, Option<&Vec<u8>>)> =
        dirs.into_iter().map(|(p, m)| (format!("{p}/"), m, None)).collect();
    entries.extend(files.iter().map(|(p, (m, b))| (p.clone(), *m, Some(b))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tar = tar::Builder::new(Vec::new());
    for (path, mode, bytes) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(spec.epoch);
        let (uid, gid) = if path == "home/nonroot/" { (USER, USER) } else { (0, 0) };
        h.set_uid(uid.into());
        h.set_gid(gid.into());
        match bytes {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, &path, std::io::empty())?;
            }
            Some(b) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(b.len() as u64);
                tar.append_data(&mut h, &path, b.as_slice())?;
            }
        }
    }
    Ok(tar.into_inner()?)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    // No file name and a zero time in the header: the output depends on the input only.
    let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn rfc3339(epoch: u64) -> Result<String> {
    let t = chrono::DateTime::from_timestamp(i64::try_from(epoch)?, 0).context("timestamp out of range")?;
    Ok(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn descriptor(media: MediaType, bytes: &[u8]) -> Result<Descriptor> {
    Ok(DescriptorBuilder::default()
        .media_type(media)
        .digest(sha256(bytes).parse::<oci_spec::image::Digest>()?)
        .size(bytes.len() as u64)
        .build()?)
}

/// Build the image and write it as an OCI layout into `dir` (replaced).
pub fn build(spec: &Spec<'_>, dir: &Path) -> Result<Built> {
    let tar = layer_tar(spec)?;
    let layer = gzip(&tar)?;
    let created = rfc3339(spec.epoch)?;
    let labels: std::collections::HashMap<String, String> = [
        ("org.opencontainers.image.source", spec.source),
        ("org.opencontainers.image.revision", spec.revision),
        ("org.opencontainers.image.title", spec.service),
        ("org.opencontainers.image.created", created.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = ImageConfigurationBuilder::default()
        .architecture(oci_spec::image::Arch::Amd64)
        .os(oci_spec::image::Os::Linux)
        .created(created.clone())
        .config(
            ConfigBuilder::default()
                .user(format!("{USER}:{USER}"))
                .entrypoint(vec![format!("/usr/local/bin/{}", spec.service)])
                .env(vec!["PATH=/usr/local/bin".to_string(), format!("SSL_CERT_FILE=/{CA_PATH}")])
                .working_dir("/".to_string())
                .labels(labels.clone())
                .build()?,
        )
        .rootfs(RootFsBuilder::default().typ("layers".to_string()).diff_ids(vec![sha256(&tar)]).build()?)
        .build()?;
    // serde_json with sorted maps: the label map (a HashMap) must not reorder the bytes.
    let config_json = canonical_json(&serde_json::to_value(&config)?)?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(MediaType::ImageConfig, &config_json)?)
        .layers(vec![descriptor(MediaType::ImageLayerGzip, &layer)?])
        .annotations(labels)
        .build()?;
    let manifest_json = canonical_json(&serde_json::to_value(&manifest)?)?;
    let mut manifest_desc = descriptor(MediaType::ImageManifest, &manifest_json)?;
    manifest_desc.set_annotations(Some(
        [("org.opencontainers.image.ref.name".to_string(), spec.tag.to_string())].into_iter().collect(),
    ));
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_desc])
        .build()?;
    let index_json = canonical_json(&serde_json::to_value(&index)?)?;

    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot replace `{}`", dir.display()))?;
    }
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).with_context(|| format!("cannot create `{}`", blobs.display()))?;
    for bytes in [&layer, &config_json, &manifest_json] {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes)?;
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    std::fs::write(dir.join("index.json"), &index_json)?;
    Ok(Built {
        service: spec.service.to_string(),
        layout: dir.to_path_buf(),
        tag: spec.tag.to_string(),
        digest: sha256(&manifest_json),
        size: (layer.len() + config_json.len() + manifest_json.len()) as u64,
    })
}

/// JSON with object keys sorted at every level (serde_json without
/// `preserve_order` would do it; this crate enables that feature).
fn canonical_json(v: &serde_json::Value) -> Result<Vec<u8>> {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let sorted: BTreeMap<&String, serde_json::Value> = m.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    Ok(serde_json::to_vec(&sort(v))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661).unwrap(), "2000-02-29T01:01:01Z");
    }
}
