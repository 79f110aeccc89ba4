// SPDX-License-Identifier: GPL-2.0

//! A debugfs directory of small text files backed by one Rust object.
//!
//! Each file is read as a whole from [`Files::show`] and written as a whole
//! (one `write()` at offset 0) through [`Files::store`].

use crate::bindings;
use crate::stats::TextBuf;
use core::fmt;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Largest text a file shows.
pub(crate) const SHOW_MAX: usize = 1024;
/// Largest write a file accepts.
const STORE_MAX: usize = 64;

/// The object behind the files of a [`Dir`].
pub(crate) trait Files: Send + Sync + 'static {
    /// The files: name and mode. A file's index in this list identifies it.
    const FILES: &'static [(&'static CStr, u16)];

    /// Writes the content of file `index`.
    fn show(&self, index: usize, out: &mut TextBuf<SHOW_MAX>) -> fmt::Result;

    /// Takes a write of `input` to file `index`.
    fn store(&self, index: usize, input: &[u8]) -> Result;
}

/// [`Files`] as a trait object, for the one static `file_operations`.
trait Backing: Send + Sync {
    fn name(&self, index: usize) -> &'static CStr;
    fn show(&self, index: usize, out: &mut TextBuf<SHOW_MAX>) -> fmt::Result;
    fn store(&self, index: usize, input: &[u8]) -> Result;
}

impl<T: Files> Backing for T {
    fn name(&self, index: usize) -> &'static CStr {
        T::FILES[index].0
    }

    fn show(&self, index: usize, out: &mut TextBuf<SHOW_MAX>) -> fmt::Result {
        Files::show(self, index, out)
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        Files::store(self, index, input)
    }
}

/// What the inode of one file points to.
struct FileData {
    files: Arc<dyn Backing>,
    index: usize,
}

/// The `file_operations` of every file: static, because debugfs keeps using
/// them after the file is removed. `full_proxy_release()` reads `release` and
/// `owner` when a file that was open across `debugfs_remove()` is closed.
/// They live as long as the module, which every open file pins through
/// `owner` (`full_proxy_open()` takes a module reference).
struct Fops(bindings::file_operations);

// SAFETY: never written after initialisation; the kernel only reads it.
unsafe impl Sync for Fops {}

static FOPS: Fops = Fops(bindings::file_operations {
    // The module's `struct module`, which the module loader sets up before any code of
    // the module runs and frees after it unloads (what `THIS_MODULE` points to).
    owner: (&raw mut kernel::bindings::__this_module).cast(),
    open: Some(bindings::simple_open),
    llseek: Some(bindings::default_llseek),
    read: Some(read),
    write: Some(write),
    // SAFETY: all zeroes is a valid `file_operations`: null pointers, `None`s, zeros.
    ..unsafe { core::mem::zeroed() }
});

/// A debugfs directory with the files of `T`, removed when dropped.
///
/// # Invariants
///
/// `dentry` was returned by `debugfs_create_dir` and is live until `drop`. The
/// inodes of its files point into `data`, and their operations are [`FOPS`].
pub(crate) struct Dir<T: Files> {
    dentry: *mut bindings::dentry,
    data: KVec<KBox<FileData>>,
    _files: PhantomData<T>,
}

// SAFETY: the dentry may be removed from any thread; the data is `Send + Sync`.
unsafe impl<T: Files> Send for Dir<T> {}
// SAFETY: `Dir` offers no methods through a shared reference.
unsafe impl<T: Files> Sync for Dir<T> {}

impl<T: Files> Dir<T> {
    /// Creates the directory `name` at the debugfs root with the files of `files`.
    pub(crate) fn new(name: &CStr, files: Arc<T>) -> Result<Self> {
        let files: Arc<dyn Backing> = files;
        let mut data = KVec::new();
        for index in 0..T::FILES.len() {
            data.push(
                KBox::new(
                    FileData {
                        files: files.clone(),
                        index,
                    },
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        // SAFETY: `name` is a valid C string; a null parent means the debugfs root.
        let dentry =
            unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        let dentry = kernel::error::from_err_ptr(dentry).inspect_err(|e| {
            pr_err!("cannot create debugfs directory {}: {:?}\n", name, e);
        })?;
        // INVARIANT: `dentry` is live; the files below point into `data` and use `FOPS`.
        let dir = Self {
            dentry,
            data,
            _files: PhantomData,
        };
        for (d, (file, mode)) in dir.data.iter().zip(T::FILES) {
            let private: *const FileData = &**d;
            // SAFETY: `dir.dentry` is live; `private` is a heap object that lives as long
            // as `dir`, whose drop removes the file first; `FOPS` is static.
            let dentry = unsafe {
                bindings::ob_debugfs_create_file(
                    file.as_char_ptr(),
                    *mode,
                    dir.dentry,
                    private.cast_mut().cast(),
                    &FOPS.0,
                )
            };
            kernel::error::from_err_ptr(dentry)?;
        }
        Ok(dir)
    }
}

impl<T: Files> Drop for Dir<T> {
    fn drop(&mut self) {
        // SAFETY: `dentry` is live (type invariant). debugfs_remove waits for `read` and
        // `write` in flight and fails later ones with -EIO, so `data` is unused after it;
        // `FOPS` is static and outlives the open files.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}

/// Recovers the file's data from an open file.
///
/// # Safety
///
/// `file` must be an open file of a [`Dir`] (opened with `simple_open`), in
/// a `read` or `write` call.
unsafe fn file_data<'a>(file: *mut bindings::file) -> &'a FileData {
    // SAFETY: `simple_open` set `private_data` to the inode's `FileData`, which lives
    // until the file is removed, and the debugfs proxy calls `read` and `write` only
    // before that.
    unsafe { &*(*file).private_data.cast::<FileData>() }
}

/// `read` of every file: the whole text from [`Files::show`].
///
/// # Safety
///
/// Called by the VFS for an open file of a [`Dir`] with a user buffer of
/// `count` bytes and a valid `ppos`.
unsafe extern "C" fn read(
    file: *mut bindings::file,
    buf: *mut kernel::ffi::c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: per the function's contract.
    let data = unsafe { file_data(file) };
    let mut text = TextBuf::new();
    if data.files.show(data.index, &mut text).is_err() {
        return ENOSPC.to_errno() as isize;
    }
    let text = text.as_bytes();
    // SAFETY: `buf` is a user buffer of `count` bytes and `ppos` is valid; `text` is
    // a kernel buffer of `text.len()` bytes.
    unsafe {
        bindings::simple_read_from_buffer(buf.cast(), count, ppos, text.as_ptr().cast(), text.len())
    }
}

/// `write` of every file: one whole write at offset 0 goes to [`Files::store`].
///
/// # Safety
///
/// Called by the VFS for an open file of a [`Dir`] with a user buffer of
/// `count` bytes and a valid `ppos`.
unsafe extern "C" fn write(
    file: *mut bindings::file,
    buf: *const kernel::ffi::c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: per the function's contract.
    let data = unsafe { file_data(file) };
    let name = data.files.name(data.index);
    // SAFETY: `ppos` is valid per the function's contract.
    if unsafe { *ppos } != 0 {
        pr_err!(
            "{}: partial writes are not supported; write the whole value at once\n",
            name
        );
        return EINVAL.to_errno() as isize;
    }
    if count > STORE_MAX {
        pr_err!(
            "{}: write of {} bytes is too long (at most {})\n",
            name,
            count,
            STORE_MAX
        );
        return EINVAL.to_errno() as isize;
    }
    let mut input = [0u8; STORE_MAX];
    let input = &mut input[..count];
    if let Err(e) = crate::compat::user_slice(buf, count)
        .reader()
        .read_slice(input)
    {
        return e.to_errno() as isize;
    }
    match data.files.store(data.index, input) {
        Ok(()) => {
            // SAFETY: `ppos` is valid per the function's contract.
            unsafe { *ppos += count as bindings::loff_t };
            count as isize
        }
        Err(e) => e.to_errno() as isize,
    }
}
