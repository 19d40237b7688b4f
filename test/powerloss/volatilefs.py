#!/usr/bin/python3
"""volatilefs: a pass-through FUSE filesystem that forgets, on command, all it was not told to keep.

    /usr/bin/python3 volatilefs.py ROOT MOUNTPOINT

Every operation goes straight through to ROOT/data, so the programs on the mount see an ordinary
filesystem (the kernel's page cache, in effect). Beside that, volatilefs remembers what a power cut
would take back: for every file, the bytes it held at its last fsync that have been overwritten or
cut off since, and its size then; and every change of a directory (create, mkdir, link, symlink,
rename, unlink, rmdir) not yet made durable. A line `cut` on the control socket ROOT/control.sock
is the power cut: from then on every operation fails with EIO, and ROOT/data is rolled back to its
durable state, which is what the next mount shows. `sync` makes everything durable (sync(1), for
a set-up written without fsyncs); `fail` makes every write, fsync and directory change fail with
EIO until `heal` (a disk gone bad); `fail-fsync` only the fsyncs (the data was written, whether it
is durable is unknown: a writer's own replay may bring it back); `stats` reports counters. Each answer is one JSON line.

The durability model is ext4's (data=ordered, the Debian default) and xfs's, no more:
- File data: bytes written, and size changes, are durable once that file is fsynced or
  fdatasynced (the two are the same here: both flush the data and the size needed to read it).
  Another file's fsync does not make them durable (delayed allocation: no data is ordered
  before a commit unless it was allocated).
- Directory changes (create, mkdir, link, symlink, rename, unlink, rmdir) go into one ordered
  metadata journal: none is durable until an fsync or fdatasync of any file or directory, which
  commits all made before it, in order, as a journal commit does. A change made after the last
  fsync is lost, however many earlier fsyncs there were.
- Metadata other than size and names (mode, owner, times) is not modelled: written at once.
- VOLATILEFS_MODEL=strict is POSIX's minimum instead: a directory change is durable only by an
  fsync of its directory, or, for a name given to a file (create, link, rename onto), of that
  file; still in order. LevelDB 1.20 (classic-level's) fails it on a new database: it never
  fsyncs MANIFEST-000001 and renames CURRENT onto it without a directory fsync, so a cut before
  the next MANIFEST's directory fsync leaves CURRENT naming an empty MANIFEST. ext4 and xfs
  commit that rename with the first fsync of the log, which is why the default is the journal.

Covered this way: LevelDB fdatasyncs its log on every `sync: true` write (so a missing sync loses
the writes since the last one), fsyncs each new table and MANIFEST (and the directory after a new
MANIFEST), and renames CURRENT into place with no fsync of its own: a cut before the next fsync
leaves CURRENT naming the previous MANIFEST, whose files come back (their unlinks were volatile
too), the state LevelDB must recover from after power loss.
PostgreSQL fsyncs WAL at commit (fsync, synchronous_commit), fsyncs data files at checkpoints
and uses durable_rename (fsync file, rename, fsync file and directory). With `fsync = off` or
`synchronous_commit = off` the rolled-back state loses acknowledged commits, which is the point.
"""

import errno
import json
import os
import resource
import shutil
import socket
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context


DEBUG = os.environ.get('VOLATILEFS_DEBUG') == '1'
# VOLATILEFS_MODEL=strict: a directory change is durable only by an fsync of its directory, or
# (create, rename onto) of the file it names; see the model below
STRICT = os.environ.get('VOLATILEFS_MODEL') == 'strict'


class FileUndo:
    """What a power cut restores in one file: its size at the last fsync and the bytes it held."""

    def __init__(self, fd, durable_size):
        self.fd = fd  # our own descriptor: the file may be renamed or unlinked meanwhile
        self.durable_size = durable_size
        self.saved = []  # [start, bytes] not overlapping, sorted by start

    def preserve(self, start, end):
        """Keep the durable bytes of [start, end) not kept yet, before they are overwritten."""
        end = min(end, self.durable_size)
        if start >= end:
            return
        gaps = []
        pos = start
        for s, b in self.saved:
            e = s + len(b)
            if e <= pos:
                continue
            if s >= end:
                break
            if s > pos:
                gaps.append((pos, s))
            pos = max(pos, e)
            if pos >= end:
                break
        if pos < end:
            gaps.append((pos, end))
        for s, e in gaps:
            self.saved.append([s, os.pread(self.fd, e - s, s)])
        if gaps:
            self.saved.sort(key=lambda x: x[0])

    def restore(self):
        os.ftruncate(self.fd, self.durable_size)
        for s, b in self.saved:
            os.pwrite(self.fd, b, s)

    def close(self):
        os.close(self.fd)


def parent(path):
    return os.path.dirname(path.rstrip('/')) or '/'


class VolatileFS(Operations):
    use_ns = True
    # not offered: the kernel then keeps POSIX locks itself, and xattrs are simply unsupported
    lock = None
    bmap = None
    ioctl = None
    getxattr = None
    listxattr = None
    setxattr = None
    removexattr = None

    def __init__(self, root):
        self.data = os.path.join(root, 'data')
        self.trash = os.path.join(root, 'trash')
        os.makedirs(self.data, exist_ok=True)
        shutil.rmtree(self.trash, ignore_errors=True)
        os.makedirs(self.trash)
        self.lock_ = threading.RLock()
        self.dead = False
        self.failing = False  # `fail`: writes fail with EIO (a disk gone bad), reads still work
        self.failing_fsyncs = False  # `fail-fsync`: fsync and fdatasync fail with EIO, writes pass
        self.undo = {}  # inode -> FileUndo, for files written since their last fsync
        self.ops = []  # directory changes not yet durable, oldest first
        self.trash_seq = 0
        self.append = set()  # file handles opened with O_APPEND
        self.counters = {'writes': 0, 'fsyncs': 0, 'fsyncdirs': 0, 'cuts': 0}

    # --- helpers -------------------------------------------------------------------------------

    def real(self, path):
        return self.data + path

    def alive(self):
        if self.dead:
            raise FuseOSError(errno.EIO)

    def writable(self):
        self.alive()
        if self.failing:
            raise FuseOSError(errno.EIO)

    def own(self, path):
        uid, gid, _ = fuse_get_context()
        os.lchown(self.real(path), uid, gid)

    def ino(self, path):
        return os.lstat(self.real(path)).st_ino

    def to_trash(self, path):
        self.trash_seq += 1
        name = os.path.join(self.trash, str(self.trash_seq))
        os.rename(self.real(path), name)
        return name

    def file_undo(self, fd):
        st = os.fstat(fd)
        u = self.undo.get(st.st_ino)
        if u is None:
            u = self.undo[st.st_ino] = FileUndo(os.dup(fd), st.st_size)
        return u

    def commit_through(self, index):
        """Directory changes 0..index are durable now: what they moved to the trash is gone."""
        for op in self.ops[: index + 1]:
            gone = op.get('trash')
            if gone:
                if os.path.isdir(gone) and not os.path.islink(gone):
                    shutil.rmtree(gone, ignore_errors=True)
                else:
                    os.unlink(gone)
        del self.ops[: index + 1]

    def commit_where(self, pred):
        last = -1
        for i, op in enumerate(self.ops):
            if pred(op):
                last = i
        if last >= 0:
            self.commit_through(last)

    def trace(self, *what):
        if DEBUG:
            print(*what, file=sys.stderr, flush=True)

    def record(self, kind, path, **more):
        self.trace('op', kind, path, more)
        op = {'kind': kind, 'path': path, 'dirs': {parent(path)}, **more}
        if 'to' in more:
            op['dirs'].add(parent(more['to']))
        self.ops.append(op)

    # --- control -------------------------------------------------------------------------------

    def cut(self):
        """The power cut: every later operation fails, and the data goes back to its durable state."""
        with self.lock_:
            self.dead = True
            self.counters['cuts'] += 1
            undone = len(self.ops)
            for op in reversed(self.ops):
                k = op['kind']
                if k == 'create':
                    target = self.real(op['path'])
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target)
                    else:
                        os.unlink(target)
                elif k == 'unlink':
                    os.rename(op['trash'], self.real(op['path']))
                elif k == 'rmdir':
                    os.mkdir(self.real(op['path']), op['mode'])
                    os.lchown(self.real(op['path']), op['uid'], op['gid'])
                elif k == 'rename':
                    os.rename(self.real(op['to']), self.real(op['path']))
                    if op.get('trash'):
                        os.rename(op['trash'], self.real(op['to']))
            self.ops = []
            files = len(self.undo)
            for u in self.undo.values():
                try:
                    u.restore()
                finally:
                    u.close()
            self.undo = {}
            return {'undone_dir_changes': undone, 'rolled_back_files': files, **self.counters}

    def sync_all(self):
        with self.lock_:
            self.commit_through(len(self.ops) - 1)
            for u in self.undo.values():
                u.close()
            self.undo = {}
            return {'ok': True}

    def serve(self, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        sock.bind(path)
        sock.listen(4)
        while True:
            conn, _ = sock.accept()
            with conn, conn.makefile('rw') as f:
                for line in f:
                    cmd = line.strip()
                    try:
                        if cmd == 'cut':
                            out = self.cut()
                        elif cmd == 'sync':
                            out = self.sync_all()
                        elif cmd in ('fail', 'heal'):
                            with self.lock_:
                                self.failing = cmd == 'fail'
                                self.failing_fsyncs = False
                            out = {'failing': self.failing}
                        elif cmd == 'fail-fsync':
                            with self.lock_:
                                self.failing_fsyncs = True
                            out = {'failing_fsyncs': True}
                        elif cmd == 'stats':
                            with self.lock_:
                                out = {
                                    **self.counters,
                                    'volatile_dir_changes': len(self.ops),
                                    'volatile_files': len(self.undo),
                                    'dead': self.dead,
                                }
                        else:
                            out = {'error': f'unknown command {cmd!r}'}
                    except Exception as e:  # noqa: BLE001 - reported to the caller, who fails
                        out = {'error': repr(e)}
                    f.write(json.dumps(out) + '\n')
                    f.flush()

    # --- filesystem ----------------------------------------------------------------------------

    def getattr(self, path, fh=None):
        with self.lock_:
            self.alive()
            try:
                st = os.fstat(fh) if fh is not None else os.lstat(self.real(path))
            except OSError as e:
                raise FuseOSError(e.errno)
            keys = ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_ino', 'st_blocks')
            out = {k: getattr(st, k) for k in keys}
            out.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
            return out

    def readdir(self, path, fh):
        with self.lock_:
            self.alive()
            return ['.', '..', *os.listdir(self.real(path))]

    def readlink(self, path):
        with self.lock_:
            self.alive()
            return os.readlink(self.real(path))

    def statfs(self, path):
        st = os.statvfs(self.real(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files')
        return {**{k: getattr(st, k) for k in keys}, 'f_frsize': st.f_frsize, 'f_namemax': st.f_namemax}

    def access(self, path, amode):
        with self.lock_:
            self.alive()
            if not os.path.lexists(self.real(path)):
                raise FuseOSError(errno.ENOENT)
            return 0

    def chmod(self, path, mode):
        with self.lock_:
            self.alive()
            os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        with self.lock_:
            self.alive()
            os.lchown(self.real(path), uid, gid)

    def utimens(self, path, times=None):
        with self.lock_:
            self.alive()
            os.utime(self.real(path), ns=times, follow_symlinks=False)

    def _opened(self, fd, flags):
        if flags & os.O_APPEND:
            self.append.add(fd)
        return fd

    def open(self, path, flags):
        with self.lock_:
            self.alive()
            # always read-write, never O_APPEND: the old bytes must be readable before a write,
            # and appends are placed by us (below) so that an append is a write at the end
            fd = os.open(self.real(path), os.O_RDWR if not os.path.isdir(self.real(path)) else os.O_RDONLY)
            if flags & os.O_TRUNC:
                self._truncate(fd, 0)
            return self._opened(fd, flags)

    def create(self, path, mode, fi=None):
        with self.lock_:
            self.writable()
            existed = os.path.lexists(self.real(path))
            fd = os.open(self.real(path), os.O_RDWR | os.O_CREAT, mode)
            if not existed:
                self.own(path)
                self.record('create', path, ino=os.fstat(fd).st_ino)
            return fd

    def read(self, path, size, offset, fh):
        with self.lock_:
            self.alive()
            return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        with self.lock_:
            self.writable()
            if fh in self.append:
                offset = os.fstat(fh).st_size
            self.trace('write', path, offset, len(data))
            self.file_undo(fh).preserve(offset, offset + len(data))
            self.counters['writes'] += 1
            return os.pwrite(fh, data, offset)

    def _truncate(self, fd, length):
        size = os.fstat(fd).st_size
        if length < size:
            self.file_undo(fd).preserve(length, size)
        else:
            self.file_undo(fd)
        os.ftruncate(fd, length)

    def truncate(self, path, length, fh=None):
        with self.lock_:
            self.writable()
            if fh is not None:
                self._truncate(fh, length)
                return
            fd = os.open(self.real(path), os.O_RDWR)
            try:
                self._truncate(fd, length)
            finally:
                os.close(fd)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        with self.lock_:
            self.append.discard(fh)
            os.close(fh)

    def fsync(self, path, datasync, fh):
        with self.lock_:
            self.writable()
            if self.failing_fsyncs:
                raise FuseOSError(errno.EIO)
            self.counters['fsyncs'] += 1
            ino = os.fstat(fh).st_ino
            self.trace('fsync', path, ino, datasync)
            u = self.undo.pop(ino, None)
            if u is not None:
                u.close()
            if STRICT:
                self.commit_where(lambda op: op.get('ino') == ino and op['kind'] in ('create', 'rename'))
            else:
                self.commit_through(len(self.ops) - 1)
            return 0

    def opendir(self, path):
        with self.lock_:
            self.alive()
            return 0

    def releasedir(self, path, fh):
        return 0

    def fsyncdir(self, path, datasync, fh):
        with self.lock_:
            self.writable()
            self.counters['fsyncdirs'] += 1
            d = path.rstrip('/') or '/'
            ino = self.ino(d)
            if STRICT:  # its entries, and its own creation or rename
                self.commit_where(
                    lambda op: d in op['dirs'] or (op.get('ino') == ino and op['kind'] in ('create', 'rename'))
                )
            else:
                self.commit_through(len(self.ops) - 1)
            return 0

    def mkdir(self, path, mode):
        with self.lock_:
            self.writable()
            os.mkdir(self.real(path), mode)
            self.own(path)
            self.record('create', path, ino=self.ino(path))

    def mknod(self, path, mode, dev):
        with self.lock_:
            self.writable()
            os.mknod(self.real(path), mode, dev)
            self.own(path)
            self.record('create', path, ino=self.ino(path))

    def symlink(self, target, source):
        with self.lock_:
            self.writable()
            os.symlink(source, self.real(target))
            self.own(target)
            self.record('create', target, ino=self.ino(target))

    def link(self, target, source):
        with self.lock_:
            self.writable()
            os.link(self.real(source), self.real(target))
            self.record('create', target, ino=self.ino(target))

    def unlink(self, path):
        with self.lock_:
            self.writable()
            ino = self.ino(path)
            self.record('unlink', path, ino=ino, trash=self.to_trash(path))

    def rmdir(self, path):
        with self.lock_:
            self.writable()
            st = os.lstat(self.real(path))
            os.rmdir(self.real(path))
            self.record('rmdir', path, mode=st.st_mode & 0o7777, uid=st.st_uid, gid=st.st_gid)

    def rename(self, old, new):
        with self.lock_:
            self.writable()
            ino = self.ino(old)
            replaced = self.to_trash(new) if os.path.lexists(self.real(new)) else None
            try:
                os.rename(self.real(old), self.real(new))
            except OSError:
                if replaced:
                    os.rename(replaced, self.real(new))
                raise
            self.record('rename', old, to=new, ino=ino, trash=replaced)


def main():
    root, mountpoint = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fs = VolatileFS(root)
    threading.Thread(target=fs.serve, args=(os.path.join(root, 'control.sock'),), daemon=True).start()
    # allow_other: PostgreSQL runs as its own user; default_permissions: the kernel checks modes
    FUSE(fs, mountpoint, foreground=True, allow_other=True, default_permissions=True, fsname='volatilefs')


if __name__ == '__main__':
    main()
