/* checkpoint.c: writing a captured training state (capture.h) into a folder atomically (written
 * beside, flushed, exchanged into place: checkpoint.h) and reading it back. The model files come
 * from the capture's model writer (a Hugging Face folder); this file adds the training state and
 * the journal and does the swapping. It knows nothing of the session, which takes the capture and
 * applies what is read (session_state.c). */
#include "smartty/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartty/hparams.h"
#include "smartty/journal.h"
#include "smartty/safetensors.h"

static void (*stage_hook)(const char *stage);

void sm_checkpoint_set_stage_hook(void (*fn)(const char *stage)) { stage_hook = fn; }

static void stage(const char *name)
{
    if (stage_hook)
        stage_hook(name);
}

/* dir without trailing slashes, into buf. */
static sm_status clean_dir(const char *dir, char *buf, size_t cap, sm_error *e)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n + 32 >= cap)
        return sm_err(e, SM_ERR_INVALID, "checkpoint folder '%s': empty or too long", dir);
    memcpy(buf, dir, n);
    buf[n] = '\0';
    return SM_OK;
}

static void parent_of(const char *dir, char *out, size_t cap)
{
    const char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == dir)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - dir), dir);
}

static sm_ckpt_kind kind_of(const char *dir)
{
    char p[4200];
    if (!sm_dir_exists(dir))
        return SM_CKPT_NONE;
    if (sm_file_exists(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON)))
        return SM_CKPT_SMARTTY;
    if (sm_file_exists(sm_path_join(p, sizeof p, dir, "config.json")))
        return SM_CKPT_HF;
    return SM_CKPT_NONE;
}

sm_ckpt_kind sm_checkpoint_resolve(const char *dir, char *out, size_t cap)
{
    char d[4096];
    if (clean_dir(dir, d, sizeof d, NULL) != SM_OK) {
        snprintf(out, cap, "%s", dir);
        return SM_CKPT_NONE;
    }
    sm_ckpt_kind k = kind_of(d);
    struct stat sb;
    if (k == SM_CKPT_NONE && lstat(d, &sb) != 0) {
        /* DIR went aside where the file system cannot exchange folders (see sm_checkpoint_save),
         * or, by an older smartty, to DIR.old */
        const char *suffixes[] = {".smartty-old", ".old"};
        for (int i = 0; i < 2; i++) {
            char old[4200];
            snprintf(old, sizeof old, "%s%s", d, suffixes[i]);
            if (lstat(old, &sb) == 0 && S_ISDIR(sb.st_mode) && kind_of(old) == SM_CKPT_SMARTTY) {
                snprintf(out, cap, "%s", old);
                return SM_CKPT_SMARTTY;
            }
        }
    }
    snprintf(out, cap, "%s", d);
    return k;
}

/* ---- the folders a save creates, and removing only those ----
 * Every folder a save makes holds MARKER, written first; its "state complete" line and "file" lines
 * list what the save wrote. Removal goes through a folder descriptor opened without following links
 * (O_NOFOLLOW | O_DIRECTORY, checked to be the entry that was looked at), of a folder owned by this
 * user and holding MARKER (or, for a checkpoint of an older smartty, trainer_state.json), and
 * unlinks only the files it lists (all regular files while the marker says "writing": such a
 * folder is mode 0700, so nobody else wrote there). Anything else is left where it is. */

#define MARKER ".smartty-checkpoint"
#define MARKER_HEAD "smartty checkpoint folder: smartty removes only the files listed here, and only from a folder holding this file\n"
#define TMP_INFIX ".smartty-tmp-"
#define OLD_SUFFIX ".smartty-old"
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
static int open_own_dir(int pfd, const char *name)
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
static sm_status remove_ours(int pfd, const char *name, int legacy, const char *where, sm_error *e)
{
    int dfd = open_own_dir(pfd, name);
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
static sm_status write_marker(int dfd, int complete, const char *where, sm_error *e)
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
static sm_status fsync_dir(int dfd, const char *where, sm_error *e)
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
static void remove_stale_tmp(int pfd, const char *base, const char *parent)
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
        (void)remove_ours(pfd, de->d_name, 1, where, &ignored);
    }
    closedir(d);
}

/* ---- log_history: the step and evaluation records, so curves come back after a resume ---- */

static json_t *record_json(const sm_step_record *r, const sm_eval_record *ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(r ? "step" : "eval"));
    if (ev) {
        json_object_set_new(o, "step", json_integer((json_int_t)ev->step));
        json_object_set_new(o, "epoch", json_integer(ev->epoch + 1));
        json_object_set_new(o, "n", json_integer(ev->n));
        json_object_set_new(o, "seconds", json_real(ev->seconds));
    }
    for (size_t i = 0; i < sm_field_count(); i++) {
        const sm_field_def *d = sm_field_at(i);
        if ((d->source == SM_FIELD_STEP) != (r != NULL))
            continue;
        double v = sm_field_value((int)i, r, ev);
        int whole = !strcmp(d->name, "step") || !strcmp(d->name, "epoch") || !strcmp(d->name, "skipped");
        if (!isnan(v) && isfinite(v))
            json_object_set_new(o, d->name, whole ? json_integer((json_int_t)v) : json_real(v));
    }
    return o;
}

static json_t *history_json(const sm_capture *c)
{
    const sm_step_record *h = c->steps;
    const sm_eval_record *ev = c->evals;
    size_t n = c->n_steps, ne = c->n_evals, k = 0;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        for (; k < ne && ev[k].step < h[i].step; k++)
            json_array_append_new(a, record_json(NULL, &ev[k]));
        json_array_append_new(a, record_json(&h[i], NULL));
        for (; k < ne && ev[k].step == h[i].step; k++)
            json_array_append_new(a, record_json(NULL, &ev[k]));
    }
    for (; k < ne; k++)
        json_array_append_new(a, record_json(NULL, &ev[k]));
    return a;
}

/* The saved log_history into the capture (absent: nothing to restore, has_history stays 0). */
static sm_status read_history(sm_capture *c, json_t *top, const char *path, sm_error *e)
{
    json_t *a = json_object_get(top, "log_history");
    if (!a)
        return SM_OK;
    if (!json_is_array(a))
        return sm_err(e, SM_ERR_FORMAT, "%s: \"log_history\" must be an array", path);
    size_t n = json_array_size(a), ns = 0, ne = 0;
    sm_step_record *st = calloc(n ? n : 1, sizeof *st);
    sm_eval_record *ev = calloc(n ? n : 1, sizeof *ev);
    sm_status rc = st && ev ? SM_OK : sm_err(e, SM_ERR_NOMEM, "%s: out of memory for the history", path);
    for (size_t i = 0; rc == SM_OK && i < n; i++) {
        json_t *o = json_array_get(a, i), *ty = json_object_get(o, "type");
        int is_eval = json_is_string(ty) && !strcmp(json_string_value(ty), "eval");
        sm_step_record *r = is_eval ? NULL : &st[ns];
        sm_eval_record *v = is_eval ? &ev[ne] : NULL;
        if (v) {
            sm_eval_record_init(v);
            json_t *x = json_object_get(o, "step"), *ep = json_object_get(o, "epoch"), *k = json_object_get(o, "n");
            v->step = json_is_integer(x) ? (int64_t)json_integer_value(x) : 0;
            v->epoch = json_is_integer(ep) && json_integer_value(ep) >= 1 ? (int)json_integer_value(ep) - 1 : 0;
            v->n = json_is_integer(k) && json_integer_value(k) >= 0 && json_integer_value(k) <= INT32_MAX
                       ? (int)json_integer_value(k) : 0;
            v->seconds = json_number_value(json_object_get(o, "seconds"));
        }
        const char *key;
        json_t *val;
        json_object_foreach(o, key, val) {
            int f = sm_field_lookup(key);
            if (f < 0 || (sm_field_at((size_t)f)->source == SM_FIELD_EVAL) != is_eval)
                continue;
            if (!json_is_number(val) || sm_field_set(f, r, v, json_number_value(val)) != 0) {
                rc = sm_err(e, SM_ERR_FORMAT, "%s: log_history entry %zu: \"%s\" is not a valid value", path,
                            i + 1, key);
                break;
            }
        }
        if (is_eval)
            ne++;
        else
            ns++;
    }
    if (rc == SM_OK) {
        c->has_history = 1;
        c->steps = st;
        c->n_steps = ns;
        c->evals = ev;
        c->n_evals = ne;
        return SM_OK;
    }
    free(st);
    free(ev);
    return rc;
}

/* Take the lock of destination base in pfd: BASE.smartty-lock, flock'ed, holding our pid.
 * Returns the descriptor (closing it releases the lock) or -1 with e filled. */
static int take_lock(int pfd, const char *base, const char *dir, const char *parent, sm_error *e)
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
static sm_status write_state(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    if (!c->state)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory serialising the state");
    json_t *o = json_loads(c->state, 0, NULL);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "checkpoint: the session state is not valid JSON");
    json_t *top = json_object();
    json_object_set_new(top, "format", json_string(SM_CKPT_FORMAT));
    json_object_set_new(top, "version", json_integer(SM_CKPT_VERSION));
    json_object_update(top, o);
    json_decref(o);
    json_object_set_new(top, "log_history", history_json(c));
    if (c->has_best) {
        json_object_set_new(top, "best_metric", json_string(c->best_metric ? c->best_metric : "auto"));
        json_object_set_new(top, "best", record_json(NULL, &c->best));
    }
    char *text = json_dumps(top, JSON_PRESERVE_ORDER | JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(top);
    if (!text)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory serialising the state");
    size_t n = strlen(text);
    text[n] = '\0';
    sm_status st = sm_write_file_atomic(sm_path_join(p, sizeof p, tmp, SM_CKPT_STATE_JSON), text, n, e);
    free(text);
    return st;
}

static sm_status write_tensors(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    size_t n = c->n_tensors, k = 0;
    sm_st_entry *ents = calloc(n ? n : 1, sizeof *ents);
    if (!ents)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    for (size_t i = 0; i < n; i++) {
        sm_state_tensor t = c->tensors[i];
        if (t.in_model)
            continue;
        ents[k].name = t.name;
        ents[k].data = t.data;
        ents[k].ndim = 1;
        ents[k].shape[0] = (int64_t)t.n;
        k++;
    }
    sm_st_meta meta[] = {{"format", SM_CKPT_FORMAT}};
    sm_status st = sm_st_write(sm_path_join(p, sizeof p, tmp, SM_CKPT_STATE_TENSORS), ents, k,
                               SM_ST_F32, meta, 1, e);
    free(ents);
    return st;
}

static sm_status write_journal(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    return sm_journal_save(&c->journal, sm_path_join(p, sizeof p, tmp, SM_CKPT_JOURNAL), e);
}

/* Make BASE.smartty-tmp-PID-N in pfd (mode 0700, MARKER "writing" inside); name into out. */
static int make_tmp(int pfd, const char *base, char *out, size_t cap)
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
static sm_status check_dest(int pfd, const char *base, const char *dir, int *exists, sm_error *e)
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
    int dfd = open_own_dir(pfd, base);
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

static int exchange(int pfd, const char *a, const char *b)
{
#ifdef RENAME_EXCHANGE
    if (!no_exchange)
        return renameat2(pfd, a, pfd, b, RENAME_EXCHANGE);
#endif
    (void)pfd, (void)a, (void)b;
    errno = EINVAL;
    return -1;
}

/* Every array of the state finite: what sm_checkpoint_read_tensors (and the model loader) would
 * refuse is never written as a checkpoint. */
static sm_status check_finite(const sm_capture *s, sm_error *e)
{
    size_t n = s->n_tensors;
    for (size_t i = 0; i < n; i++) {
        sm_state_tensor t = s->tensors[i];
        for (size_t q = 0; q < t.n; q++)
            if (!isfinite(t.data[q]))
                return sm_err(e, SM_ERR_NONFINITE,
                              "the training state holds a non-finite value (%g in '%s', element %zu), which "
                              "resume would refuse: not saved (the run has diverged; rewind or resume an "
                              "earlier checkpoint with a lower lr or clip set)", (double)t.data[q], t.name, q);
    }
    return SM_OK;
}

sm_status sm_checkpoint_save(const sm_capture *s, const char *dir_in, sm_error *e)
{
    char dir[4096], parent[4096], tmpname[512], tmp[4700], where[4700];
    sm_status st = clean_dir(dir_in, dir, sizeof dir, e);
    if (st != SM_OK)
        return st;
    parent_of(dir, parent, sizeof parent);
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    if (!strcmp(base, ".") || !strcmp(base, "..") || strlen(base) > 200)
        return sm_err(e, SM_ERR_INVALID, "checkpoint folder '%s': give a folder name (at most 200 bytes)", dir);
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open the folder to save in: %s", parent, strerror(errno));
    int lockfd = take_lock(pfd, base, dir, parent, e);
    if (lockfd < 0) {
        close(pfd);
        return sm_err_prefix(e, "saving checkpoint %s", dir);
    }
    int exists, tfd = -1, made = 0;
    if ((st = check_dest(pfd, base, dir, &exists, e)) != SM_OK ||
        (st = check_finite(s, e)) != SM_OK) {
        close(lockfd);
        close(pfd);
        return st;
    }
    stage("begin");
    remove_stale_tmp(pfd, base, parent);

    if (make_tmp(pfd, base, tmpname, sizeof tmpname) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s/%s: cannot create: %s", parent, tmpname, strerror(errno));
        goto fail;
    }
    made = 1;
    snprintf(tmp, sizeof tmp, "%s/%s", parent, tmpname);
    if ((tfd = open_own_dir(pfd, tmpname)) < 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot open: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((st = write_marker(tfd, 0, tmp, e)) != SM_OK)
        goto fail;
    if ((st = s->save_model ? s->save_model(s->model_ctx, tmp, e)
                            : sm_err(e, SM_ERR_UNSUPPORTED, "this session cannot write a model folder")) != SM_OK)
        goto fail;
    stage("model");
    if ((st = write_state(s, tmp, e)) != SM_OK)
        goto fail;
    stage("state");
    if ((st = write_tensors(s, tmp, e)) != SM_OK)
        goto fail;
    stage("tensors");
    if ((st = write_journal(s, tmp, e)) != SM_OK)
        goto fail;
    stage("journal");
    if ((st = write_marker(tfd, 1, tmp, e)) != SM_OK)
        goto fail;
    if (fchmod(tfd, 0755) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot set permissions: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((st = fsync_dir(tfd, tmp, e)) != SM_OK)
        goto fail;
    close(tfd);
    tfd = -1;
    stage("synced");
    int swapped = 0;
    if (exists) {
        /* one atomic step: the new folder becomes DIR, the old one takes the temporary name */
        if (exchange(pfd, tmpname, base) == 0) {
            swapped = 1;
        } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* the file system cannot exchange: DIR goes aside to DIR.smartty-old (where the loader
             * looks when DIR is missing), the new folder takes its place */
            char old[512];
            snprintf(old, sizeof old, "%s" OLD_SUFFIX, base);
            snprintf(where, sizeof where, "%s/%s", parent, old);
            if ((st = remove_ours(pfd, old, 1, where, e)) != SM_OK)
                goto fail;
            if (renameat(pfd, base, pfd, old) != 0) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot move aside to %s: %s", dir, where, strerror(errno));
                goto fail;
            }
            if (fsync(pfd) != 0 && errno != EINVAL) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", parent, strerror(errno));
                (void)renameat(pfd, old, pfd, base);
                goto fail;
            }
            stage("aside");
            if (renameat(pfd, tmpname, pfd, base) != 0) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place as %s: %s", tmp, dir, strerror(errno));
                (void)renameat(pfd, old, pfd, base);
                goto fail;
            }
            snprintf(tmpname, sizeof tmpname, "%s", old); /* what is left to remove */
            swapped = 1;
        } else {
            st = sm_err(e, SM_ERR_IO, "%s: cannot exchange with %s: %s", tmp, dir, strerror(errno));
            goto fail;
        }
    } else {
        int rc;
#ifdef RENAME_NOREPLACE
        rc = renameat2(pfd, tmpname, pfd, base, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
#endif
            rc = renameat(pfd, tmpname, pfd, base);
        if (rc != 0) {
            st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place as %s: %s", tmp, dir, strerror(errno));
            goto fail;
        }
    }
    stage("exchanged");
    made = swapped; /* what is at tmpname now is the previous checkpoint */
    snprintf(where, sizeof where, "%s/%s", parent, tmpname);
    if (fsync(pfd) != 0 && errno != EINVAL) {
        st = sm_err(e, SM_ERR_IO, "checkpoint saved to %s, but its folder %s could not be flushed to disk "
                    "(%s): a system crash soon could bring back the previous one", dir, parent, strerror(errno));
        if (made)
            (void)remove_ours(pfd, tmpname, 1, where, &(sm_error){0});
        close(lockfd);
        close(pfd);
        return st;
    }
    stage("renamed");
    if (made && (st = remove_ours(pfd, tmpname, 1, where, e)) != SM_OK) {
        close(lockfd);
        close(pfd);
        return sm_err_prefix(e, "checkpoint saved to %s, but the previous one remains", dir);
    }
    {   /* the new DIR is in place: what a killed fallback save left aside can go */
        char old[512];
        snprintf(old, sizeof old, "%s" OLD_SUFFIX, base);
        snprintf(where, sizeof where, "%s/%s", parent, old);
        (void)remove_ours(pfd, old, 1, where, &(sm_error){0});
    }
    stage("done");
    close(lockfd);
    close(pfd);
    return SM_OK;
fail:
    if (tfd >= 0)
        close(tfd);
    if (made) {
        snprintf(where, sizeof where, "%s/%s", parent, tmpname);
        (void)remove_ours(pfd, tmpname, 0, where, &(sm_error){0});
    }
    close(lockfd);
    close(pfd);
    return sm_err_prefix(e, "saving checkpoint %s", dir);
}

static sm_status read_state_json(const char *dir, json_t **out, sm_error *e)
{
    char p[4400], *text;
    size_t len;
    sm_status st = sm_read_file(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON), &text, &len, 0, e);
    if (st != SM_OK)
        return st;
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    free(text);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", p, je.line, je.column, je.text);
    json_t *fmt = json_object_get(o, "format"), *ver = json_object_get(o, "version");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), SM_CKPT_FORMAT) ||
        !json_is_integer(ver)) {
        json_decref(o);
        return sm_err(e, SM_ERR_FORMAT, "%s: not a smartty checkpoint state (no \"format\": \"%s\")", p,
                      SM_CKPT_FORMAT);
    }
    if (json_integer_value(ver) != SM_CKPT_VERSION) {
        long long v = (long long)json_integer_value(ver);
        json_decref(o);
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: checkpoint version %lld; this smartty reads version %d",
                      p, v, SM_CKPT_VERSION);
    }
    *out = o;
    return SM_OK;
}

sm_status sm_checkpoint_backend_json(const char *dir, char **json, sm_error *e)
{
    json_t *o;
    sm_status st = read_state_json(dir, &o, e);
    if (st != SM_OK)
        return st;
    json_t *b = json_object_get(o, "backend");
    *json = json_is_object(b) ? json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    if (!*json)
        return sm_err(e, SM_ERR_FORMAT, "%s/%s: no \"backend\" object", dir, SM_CKPT_STATE_JSON);
    return SM_OK;
}

sm_status sm_checkpoint_read(const char *dir, sm_capture *c, sm_error *e)
{
    char p[4400];
    json_t *o;
    sm_capture_init(c);
    sm_status st = read_state_json(dir, &o, e);
    if (st != SM_OK)
        return st;
    json_t *lh = json_object_get(o, "log_history"); /* not part of the session's state */
    if (lh)
        json_incref(lh);
    json_object_del(o, "log_history");
    json_object_del(o, "best");
    json_object_del(o, "best_metric");
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (lh) {
        json_object_set_new(o, "log_history", lh);
    }
    if (!text) {
        json_decref(o);
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    }
    c->state = text;
    st = read_history(c, o, sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON), e);
    json_decref(o);
    if (st == SM_OK)
        st = sm_journal_load(&c->journal, sm_path_join(p, sizeof p, dir, SM_CKPT_JOURNAL), e);
    if (st != SM_OK)
        sm_capture_free(c);
    return st;
}

sm_status sm_checkpoint_read_tensors(const char *dir, const sm_capture *c, sm_error *e)
{
    char p[4400];
    sm_st_file *f;
    sm_status st;
    if ((st = sm_st_open(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_TENSORS), &f, e)) != SM_OK)
        return st;
    for (size_t i = 0; i < c->n_tensors && st == SM_OK; i++) {
        sm_state_tensor t = c->tensors[i];
        if (t.in_model)
            continue;
        long k = sm_st_find(f, t.name);
        if (k < 0)
            st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s' is missing", p, t.name);
        else
            st = sm_st_read_float(f, (size_t)k, t.data, t.n, e);
        /* as for the model's weights (hf.c): a NaN moment or teacher weight would spread into the
         * model at the first update */
        for (size_t q = 0; st == SM_OK && q < t.n; q++)
            if (!isfinite(t.data[q]))
                st = sm_err(e, SM_ERR_NONFINITE, "%s: tensor '%s' holds a non-finite value (%g at element %zu): "
                            "the checkpoint is damaged", p, t.name, (double)t.data[q], q);
    }
    sm_st_close(f);
    return st;
}

sm_status sm_checkpoint_remove(const char *dir, sm_error *e)
{
    char real[4200];
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY)
        return sm_err(e, SM_ERR_STATE, "%s is not a smartty checkpoint: not removed", dir);
    /* as a save removes the checkpoint it replaced: relative to the parent, never through a link,
     * only the files its marker lists (or the standard names of an older checkpoint) */
    size_t n = strlen(real);
    while (n > 1 && real[n - 1] == '/')
        real[--n] = '\0';
    char parent[4200];
    parent_of(real, parent, sizeof parent);
    const char *base = strrchr(real, '/');
    base = base ? base + 1 : real;
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open: %s", parent, strerror(errno));
    sm_status st = remove_ours(pfd, base, 1, real, e);
    close(pfd);
    return st;
}
