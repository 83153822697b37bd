/* checkpoint_dir.c: the folders a checkpoint save creates and the only ones it removes: the marker
 * listing what a save wrote, removal through folder descriptors that follow no link, the
 * destination's lock, the private temporary folder, the check of what is at the destination, and
 * the atomic exchange. What goes into the folder is checkpoint.c's. */
#include "smartty/checkpoint.h"
#include "lib/session/checkpoint_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Every folder a save makes holds MARKER, written first; its "state complete" line and "file" lines
 * list what the save wrote. Removal goes through a folder descriptor opened without following links
 * (O_NOFOLLOW | O_DIRECTORY, checked to be the entry that was looked at), of a folder owned by this
 * user and holding MARKER (or, for a checkpoint of an older smartty, trainer_state.json), and
 * unlinks only the files it lists (all regular files while the marker says "writing": such a
 * folder is mode 0700, so nobody else wrote there). Anything else is left where it is. */

#define MARKER ".smartty-checkpoint"
#define MARKER_HEAD "smartty checkpoint folder: smartty removes only the files listed here, and only from a folder holding this file\n"
#define TMP_INFIX ".smartty-tmp-"
#define LOCK_SUFFIX ".smartty-lock"

static int no_exchange;

void sm_checkpoint_set_exchange(int on) { no_exchange = !on; }

/* The files of a checkpoint written by smartty before folders carried MARKER. */
static const char *const legacy_files[] = {
    "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "tokenizer.json",
    "special_tokens_map.json", SM_CKPT_STATE_JSON, SM_CKPT_STATE_TENSORS, SM_CKPT_JOURNAL, NULL};

typedef struct owned {
    int marked;    /* MARKER is there (a regular file of this user) */
    int writing;   /* ... and says the save was still writing */
    char *list;    /* its "file NAME" lines, as "\nNAME\nNAME\n" (NULL: none) */
} owned;

static void owned_free(owned *o)
{
    free(o->list);
    o->list = NULL;
}

/* Read MARKER in the folder dfd. */
static void read_marker(int dfd, owned *o)
{
    memset(o, 0, sizeof *o);
    struct stat sb;
    if (fstatat(dfd, MARKER, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
        sb.st_uid != geteuid() || sb.st_size > 65536)
        return;
    int fd = openat(dfd, MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    char *text = malloc((size_t)sb.st_size + 1);
    ssize_t n = text ? read(fd, text, (size_t)sb.st_size) : -1;
    close(fd);
    if (n < 0) {
        free(text);
        return;
    }
    text[n] = '\0';
    /* a marker cut short (a save killed or failing as it wrote it) is one still writing, if the
     * folder is as make_tmp made it: nobody else can write there */
    struct stat ds;
    int private = fstat(dfd, &ds) == 0 && (ds.st_mode & 077) == 0;
    int cut = private && strncmp(text, MARKER_HEAD, (size_t)n) == 0 && (size_t)n < strlen(MARKER_HEAD);
    if (!cut && strncmp(text, MARKER_HEAD, strlen(MARKER_HEAD)) != 0) {
        free(text);
        return;
    }
    o->marked = 1;
    o->writing = cut || (private && strstr(text, "\nstate complete\n") == NULL);
    o->list = calloc((size_t)n + 2, 1);
    if (!o->list) {
        free(text);
        return;
    }
    char *w = o->list;
    *w++ = '\n';
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "file ", 5))
            w += sprintf(w, "%s\n", line + 5);
    free(text);
}

/* Whether the entry name of folder dfd (which holds o) is one smartty wrote there. */
static int is_ours(int dfd, const owned *o, int legacy, const char *name)
{
    if (!strcmp(name, MARKER))
        return o->marked;
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid())
        return 0;
    if (o->marked && o->writing)
        return 1;
    if (o->marked) {
        size_t n = strlen(name);
        for (const char *p = o->list ? strstr(o->list, name) : NULL; p; p = strstr(p + 1, name))
            if (p[-1] == '\n' && p[n] == '\n')
                return 1;
        return 0;
    }
    if (legacy)
        for (int i = 0; legacy_files[i]; i++)
            if (!strcmp(name, legacy_files[i]))
                return 1;
    return 0;
}

/* Open the folder name of pfd without following a link: a real folder of this user, or -1 with
 * errno set (ENOTDIR, ELOOP, EPERM for another owner). */
int ckpt_open_own_dir(int pfd, const char *name)
{
    struct stat a, b;
    if (fstatat(pfd, name, &a, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    if (S_ISLNK(a.st_mode)) {
        errno = ELOOP;
        return -1;
    }
    if (!S_ISDIR(a.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (a.st_uid != geteuid()) {
        errno = EPERM;
        return -1;
    }
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        close(fd);
        errno = EAGAIN; /* replaced between the look and the open */
        return -1;
    }
    return fd;
}

/* The first entry of folder dfd that smartty did not write (into bad[cap]); 0 when none. */
static int foreign_entry(int dfd, int legacy, char *bad, size_t cap)
{
    owned o;
    read_marker(dfd, &o);
    int dfd2 = dup(dfd);
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    if (!d) {
        if (dfd2 >= 0)
            close(dfd2);
        owned_free(&o);
        snprintf(bad, cap, ".");
        return 1;
    }
    rewinddir(d);
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!o.marked && !legacy) {
            found = 1;
        } else if (!is_ours(dfd, &o, legacy, de->d_name)) {
            found = 1;
        }
        if (found)
            snprintf(bad, cap, "%s", de->d_name);
    }
    closedir(d);
    owned_free(&o);
    return found;
}

/* Remove the folder name of pfd when smartty made it (see above): the files it wrote, then the
 * folder. legacy: a checkpoint without MARKER may go too (known names only). where names it in
 * messages. Never follows a link; leaves anything that is not ours. */
sm_status ckpt_remove_ours(int pfd, const char *name, int legacy, const char *where, sm_error *e)
{
    int dfd = ckpt_open_own_dir(pfd, name);
    if (dfd < 0) {
        if (errno == ENOENT)
            return SM_OK;
        return sm_err(e, SM_ERR_STATE, "%s: left alone: %s", where,
                      errno == ELOOP    ? "a symbolic link, not a folder smartty made"
                      : errno == ENOTDIR ? "not a folder"
                      : errno == EPERM   ? "owned by another user"
                                         : strerror(errno));
    }
    owned o;
    read_marker(dfd, &o);
    struct stat sb;
    if (!o.marked && !(legacy && fstatat(dfd, SM_CKPT_STATE_JSON, &sb, AT_SYMLINK_NOFOLLOW) == 0)) {
        close(dfd);
        /* an empty folder (a save killed before its marker) may go: nothing is lost */
        if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
            return SM_OK;
        return sm_err(e, SM_ERR_STATE, "%s: left alone: smartty did not make it (no %s in it)", where, MARKER);
    }
    int dfd2 = dup(dfd);
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    if (!d) {
        int err = errno;
        if (dfd2 >= 0)
            close(dfd2);
        close(dfd);
        owned_free(&o);
        return sm_err(e, SM_ERR_IO, "%s: cannot list: %s", where, strerror(err));
    }
    sm_status st = SM_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, MARKER))
            continue;
        if (is_ours(dfd, &o, legacy, de->d_name) && unlinkat(dfd, de->d_name, 0) != 0 && st == SM_OK)
            st = sm_err(e, SM_ERR_IO, "%s/%s: cannot remove: %s", where, de->d_name, strerror(errno));
    }
    closedir(d);
    if (st == SM_OK && o.marked && unlinkat(dfd, MARKER, 0) != 0)
        st = sm_err(e, SM_ERR_IO, "%s/%s: cannot remove: %s", where, MARKER, strerror(errno));
    close(dfd);
    owned_free(&o);
    if (st == SM_OK && unlinkat(pfd, name, AT_REMOVEDIR) != 0)
        st = sm_err(e, SM_ERR_IO, "%s: cannot remove%s: %s", where,
                    errno == ENOTEMPTY || errno == EEXIST ? " (it holds files smartty did not write)" : "",
                    strerror(errno));
    return st;
}

/* Write MARKER into folder dfd: "writing" (files NULL) or complete with the folder's files. */
sm_status ckpt_write_marker(int dfd, int complete, const char *where, sm_error *e)
{
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    if (!text)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    n = (size_t)snprintf(text, cap, "%spid %ld\nstate %s\n", MARKER_HEAD, (long)getpid(),
                         complete ? "complete" : "writing");
    if (complete) {
        int dfd2 = dup(dfd);
        DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
        if (!d) {
            int err = errno;
            if (dfd2 >= 0)
                close(dfd2);
            free(text);
            return sm_err(e, SM_ERR_IO, "%s: cannot list: %s", where, strerror(err));
        }
        rewinddir(d);
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, MARKER))
                continue;
            size_t need = n + strlen(de->d_name) + 8;
            if (need > cap) {
                char *t = realloc(text, cap = need * 2);
                if (!t) {
                    closedir(d);
                    free(text);
                    return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
                }
                text = t;
            }
            n += (size_t)snprintf(text + n, cap - n, "file %s\n", de->d_name);
        }
        closedir(d);
    }
    int fd = openat(dfd, MARKER, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    sm_status st = SM_OK;
    if (fd < 0) {
        st = sm_err(e, SM_ERR_IO, "%s/%s: cannot create: %s", where, MARKER, strerror(errno));
    } else {
        const char *p = text;
        size_t left = n;
        while (left > 0 && st == SM_OK) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                st = sm_err(e, SM_ERR_IO, "%s/%s: write failed: %s", where, MARKER, strerror(errno));
            else
                p += w, left -= (size_t)w;
        }
        if (close(fd) != 0 && st == SM_OK)
            st = sm_err(e, SM_ERR_IO, "%s/%s: write failed: %s", where, MARKER, strerror(errno));
    }
    free(text);
    return st;
}

/* fsync every file of folder dfd (not following links) and the folder. */
sm_status ckpt_fsync_dir(int dfd, const char *where, sm_error *e)
{
    int dfd2 = dup(dfd);
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    if (!d) {
        int err = errno;
        if (dfd2 >= 0)
            close(dfd2);
        return sm_err(e, SM_ERR_IO, "%s: cannot list: %s", where, strerror(err));
    }
    rewinddir(d);
    struct dirent *de;
    sm_status st = SM_OK;
    while (st == SM_OK && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            st = sm_err(e, SM_ERR_IO, "%s/%s: cannot open to flush: %s", where, de->d_name, strerror(errno));
            break;
        }
        if (fsync(fd) != 0 && errno != EINVAL)
            st = sm_err(e, SM_ERR_IO, "%s/%s: cannot flush to disk: %s", where, de->d_name, strerror(errno));
        close(fd);
    }
    closedir(d);
    if (st == SM_OK && fsync(dfd) != 0 && errno != EINVAL)
        st = sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", where, strerror(errno));
    return st;
}

/* Remove the NAME.smartty-tmp-PID-N folders of pfd that saves left behind: of any NAME when process
 * PID is gone (killed mid-save; autosaves, named by pid, never meet their own again), and of this
 * destination (base) whatever the pid, as the caller holds its lock. remove_ours leaves anything
 * that is not such a folder of ours. */
void ckpt_remove_stale_tmp(int pfd, const char *base, const char *parent)
{
    int pfd2 = dup(pfd);
    DIR *d = pfd2 >= 0 ? fdopendir(pfd2) : NULL;
    if (!d) {
        if (pfd2 >= 0)
            close(pfd2);
        return;
    }
    rewinddir(d);
    size_t nb = strlen(base);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *infix = strstr(de->d_name, TMP_INFIX);
        if (!infix)
            continue;
        char *end;
        long pid = strtol(infix + strlen(TMP_INFIX), &end, 10);
        if (*end != '-' || pid <= 0)
            continue;
        int mine = (size_t)(infix - de->d_name) == nb && !strncmp(de->d_name, base, nb);
        if (!mine && (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char where[4400];
        sm_error ignored;
        snprintf(where, sizeof where, "%s/%s", parent, de->d_name);
        (void)ckpt_remove_ours(pfd, de->d_name, 1, where, &ignored);
    }
    closedir(d);
}

/* Take the lock of destination base in pfd: BASE.smartty-lock, flock'ed, holding our pid.
 * Returns the descriptor (closing it releases the lock) or -1 with e filled. */
int ckpt_take_lock(int pfd, const char *base, const char *dir, const char *parent, sm_error *e)
{
    char name[512], where[4400];
    snprintf(name, sizeof name, ".%s" LOCK_SUFFIX, base);
    snprintf(where, sizeof where, "%s/%s", parent, name);
    int fd = openat(pfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        sm_err(e, errno == ELOOP ? SM_ERR_STATE : SM_ERR_IO, "%s: cannot open the lock file%s: %s", where,
               errno == ELOOP ? " (it is a symbolic link; remove it)" : "", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
        close(fd);
        sm_err(e, SM_ERR_STATE, "%s: the lock file is not a plain file of yours; remove it", where);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char text[64] = "";
        ssize_t n = pread(fd, text, sizeof text - 1, 0);
        text[n > 0 ? n : 0] = '\0';
        long pid = 0;
        sscanf(text, "pid %ld", &pid);
        close(fd);
        if (err == EWOULDBLOCK) {
            if (pid > 0)
                sm_err(e, SM_ERR_STATE, "%s is being saved by process %ld (lock %s): wait for it, or save "
                       "elsewhere", dir, pid, where);
            else
                sm_err(e, SM_ERR_STATE, "%s is being saved by another process (lock %s): wait for it, or "
                       "save elsewhere", dir, where);
        } else {
            sm_err(e, SM_ERR_IO, "%s: cannot lock: %s", where, strerror(err));
        }
        return -1;
    }
    char text[64];
    int n = snprintf(text, sizeof text, "pid %ld\n", (long)getpid());
    /* written over the last holder's note, then cut to length (a reader never sees it empty);
     * where this fails the lock still holds, and a waiter's message names no pid */
    if (pwrite(fd, text, (size_t)n, 0) == n)
        (void)!ftruncate(fd, n);
    return fd;
}

/* Make BASE.smartty-tmp-PID-N in pfd (mode 0700, MARKER "writing" inside); name into out. */
int ckpt_make_tmp(int pfd, const char *base, char *out, size_t cap)
{
    static unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        unsigned r = (unsigned)time(NULL) * 2654435761u ^ (unsigned)clock() ^ (++counter * 40503u);
        snprintf(out, cap, "%s" TMP_INFIX "%ld-%08x", base, (long)getpid(), r);
        if (mkdirat(pfd, out, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Check what is at base in pfd before anything is written: nothing, an empty folder, or a smartty
 * checkpoint holding only what smartty wrote. *exists is set. */
sm_status ckpt_check_dest(int pfd, const char *base, const char *dir, int *exists, sm_error *e)
{
    struct stat sb;
    *exists = 0;
    if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return SM_OK;
        return sm_err(e, SM_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    if (S_ISLNK(sb.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(pfd, base, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        return sm_err(e, SM_ERR_STATE,
                      "%s is a symbolic link (to %s): smartty does not save through a link, as that would "
                      "replace what it points to; save to the folder itself, or remove the link",
                      dir, target);
    }
    if (!S_ISDIR(sb.st_mode))
        return sm_err(e, SM_ERR_STATE, "%s is a file, not a folder", dir);
    int dfd = ckpt_open_own_dir(pfd, base);
    if (dfd < 0)
        return sm_err(e, SM_ERR_STATE, "%s: %s: refusing to replace it", dir,
                      errno == EPERM ? "the folder belongs to another user" : strerror(errno));
    char bad[256];
    int is_ckpt = fstatat(dfd, SM_CKPT_STATE_JSON, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
    int foreign = foreign_entry(dfd, 1, bad, sizeof bad);
    close(dfd);
    *exists = 1;
    if (!foreign)
        return SM_OK;
    if (!is_ckpt)
        return sm_err(e, SM_ERR_STATE, "%s exists and is not a smartty checkpoint: refusing to replace it; "
                      "choose another folder or remove it", dir);
    return sm_err(e, SM_ERR_STATE, "%s holds '%s', which smartty did not write: refusing to replace the "
                  "checkpoint (and lose it); move it out, or save elsewhere", dir, bad);
}

int ckpt_exchange(int pfd, const char *a, const char *b)
{
#ifdef RENAME_EXCHANGE
    if (!no_exchange)
        return renameat2(pfd, a, pfd, b, RENAME_EXCHANGE);
#endif
    (void)pfd, (void)a, (void)b;
    errno = EINVAL;
    return -1;
}
