/* mpi_run: see mpi_run.h. Without VP_HAVE_MPI only the environment check and stubs
 * that refuse are compiled. */
#include "experiment/mpi_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/runner.h"

int vp_mpi_env_size(void)
{
    static const char *const VARS[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE" };
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) {
        const char *v = getenv(VARS[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n > 1) return n > 1000000 ? 1000000 : (int)n;
    }
    return 1;
}

#ifndef VP_HAVE_MPI

int vp_mpi_built(void) { return 0; }

vp_status vp_mpi_start(vp_mpi **m, vp_err *err)
{
    *m = NULL;
    return vp_fail(err, VP_ERR_USAGE, "started by mpirun as one of %d processes, but this varprop was built "
                   "without MPI: each would run the whole sweep. Install libopenmpi-dev (make deps) and rebuild "
                   "(make clean && make), or run varprop without mpirun", vp_mpi_env_size());
}
int vp_mpi_rank(const vp_mpi *m) { (void)m; return 0; }
int vp_mpi_size(const vp_mpi *m) { (void)m; return 1; }
int vp_mpi_node_ranks(const vp_mpi *m) { (void)m; return 1; }
vp_status vp_mpi_share_text(vp_mpi *m, char **text, long *len, vp_err *err)
{
    (void)m; (void)text; (void)len;
    return vp_fail(err, VP_ERR_USAGE, "varprop was built without MPI");
}
void vp_mpi_serve(vp_job *j)
{
    j->status = vp_fail(&j->err, VP_ERR_USAGE, "varprop was built without MPI");
}
vp_status vp_mpi_work(vp_job *j, vp_err *err)
{
    (void)j;
    return vp_fail(err, VP_ERR_USAGE, "varprop was built without MPI");
}
void vp_mpi_end(vp_mpi *m, vp_status s, const vp_err *err) { (void)m; (void)s; (void)err; }

#else

#include <mpi.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "experiment/fragments.h"
#include "experiment/run.h"
#include "experiment/share.h"

#define VP_MPI_TAG 17
enum { K_READY, K_DONE, K_FAIL, K_HELD, K_BEAT, K_ASSIGN, K_NOMORE, K_ABORT };
#define ABORT_WAIT 0.5 /* seconds rank 0 waits for the ranks' answers to ABORT */
#define BEAT_EVERY 1.0 /* seconds between a working rank's heartbeats */
#define SILENCE 10.0   /* seconds of silence after which rank 0 counts a rank as lost */
#define STARTUP 6      /* times SILENCE for a rank not heard from yet (loading its data) */

struct vp_mpi {
    int rank, size;
    int node_ranks;   /* ranks of the job on this rank's node (MPI_COMM_TYPE_SHARED) */
    double silence;   /* rank 0: seconds without a message after which a rank is lost */
    int worked;       /* this rank reached vp_mpi_work / vp_mpi_serve */
    int *released;    /* rank 0: per rank, 1 once told NOMORE or ABORT answered */
    int lost;         /* rank 0: a rank did not answer ABORT or was lost (lose): MPI_Finalize would wait for it */
};

int vp_mpi_built(void) { return 1; }
int vp_mpi_rank(const vp_mpi *m) { return m ? m->rank : 0; }
int vp_mpi_size(const vp_mpi *m) { return m ? m->size : 1; }
int vp_mpi_node_ranks(const vp_mpi *m) { return m ? m->node_ranks : 1; }

/* How long rank 0 waits for a silent rank: $VARPROP_MPI_SILENCE seconds, default SILENCE. */
static vp_status silence_limit(double *seconds, vp_err *err)
{
    const char *env = getenv("VARPROP_MPI_SILENCE");
    *seconds = SILENCE;
    if (!env || !*env) return VP_OK;
    char *end;
    double v = strtod(env, &end);
    if (end == env || *end || !(v >= 3 * BEAT_EVERY && v <= 1e6))
        return vp_fail(err, VP_ERR_USAGE, "VARPROP_MPI_SILENCE='%.40s' is not a number of seconds from %g to 1e6 "
                       "(how long rank 0 waits for a silent rank before it counts it as lost)", env, 3 * BEAT_EVERY);
    *seconds = v;
    return VP_OK;
}

vp_status vp_mpi_start(vp_mpi **out, vp_err *err)
{
    int want = vp_mpi_env_size(), provided, inited;
    *out = NULL;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return vp_fail(err, VP_ERR_IO, "MPI_Init failed");
    vp_mpi *m = calloc(1, sizeof *m);
    if (!m) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    *out = m;
    /* the ranks that share this rank's memory: the memory check splits the node's */
    MPI_Comm node;
    m->node_ranks = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &m->node_ranks);
        MPI_Comm_free(&node);
    }
    if (m->size != want)
        return vp_fail(err, VP_ERR_USAGE, "the launcher started %d processes but this varprop's MPI (Open MPI) "
                       "sees %d: start it with Open MPI's mpirun", want, m->size);
    if (!(m->released = calloc((size_t)m->size, sizeof *m->released))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    /* every rank reads it: a rank that let a bad value pass would wait in its first broadcast for a
       rank 0 that stopped */
    return silence_limit(&m->silence, err);
}

vp_status vp_mpi_share_text(vp_mpi *m, char **text, long *len, vp_err *err)
{
    long n = m->rank == 0 ? *len : 0;
    if (MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return vp_fail(err, VP_ERR_IO, "MPI_Bcast failed");
    if (m->rank != 0) {
        *len = n;
        *text = NULL;
        if (n < 0) return VP_OK;
        if (!(*text = malloc((size_t)n + 1))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        (*text)[n] = '\0';
    }
    /* in pieces below 2^31 bytes: MPI counts are int */
    for (long off = 0; off < n; off += 1L << 30) {
        int c = n - off > (1L << 30) ? 1 << 30 : (int)(n - off);
        if (MPI_Bcast(*text + off, c, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return vp_fail(err, VP_ERR_IO, "MPI_Bcast failed");
    }
    return VP_OK;
}

static void nap(void)
{
    struct timespec ts = { 0, 200000 }; /* 0.2 ms: MPI_Iprobe polls, a blocking receive would spin a core */
    nanosleep(&ts, NULL);
}

/* ---- messages ---- */
typedef struct { int kind, run, status, draws; } up_head;

static int send_up(int kind, int run, vp_status status, int draws, const char *payload, size_t len)
{
    size_t n = sizeof(up_head) + len;
    char *buf = malloc(n);
    if (!buf || n > (size_t)1 << 31) { free(buf); return -1; }
    up_head h = { kind, run, (int)status, draws };
    memcpy(buf, &h, sizeof h);
    if (len) memcpy(buf + sizeof h, payload, len);
    int rc = MPI_Send(buf, (int)n, MPI_BYTE, 0, VP_MPI_TAG, MPI_COMM_WORLD);
    free(buf);
    return rc == MPI_SUCCESS ? 0 : -1;
}

static int send_down(int to, int kind, int run, int group)
{
    int msg[3] = { kind, run, group };
    return MPI_Send(msg, 3, MPI_INT, to, VP_MPI_TAG, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

/* A message from any rank, if one is waiting: 1 and its source, head and payload
 * (malloc'ed); 0 when none is. A rank that dies while it sends a long message never
 * completes it, and a blocking receive would wait forever: the receive is given up
 * after `limit` seconds (-1, *from: that rank; its buffer is left to MPI). */
static int recv_up(int *from, up_head *h, char **payload, size_t *len, double limit)
{
    int flag = 0, n;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, VP_MPI_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS || !flag) return 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *buf = malloc((size_t)n + 1);
    if (!buf) return 0;
    *from = st.MPI_SOURCE;
    MPI_Request rq;
    int done = 0;
    double t0 = vp_job_now();
    if (MPI_Irecv(buf, n, MPI_BYTE, st.MPI_SOURCE, VP_MPI_TAG, MPI_COMM_WORLD, &rq) != MPI_SUCCESS) done = -1;
    while (!done) {
        if (MPI_Test(&rq, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) done = -1;
        else if (!done && vp_job_now() - t0 > limit) done = -1;
        else if (!done) nap();
    }
    if (done < 0) return -1; /* buf stays MPI's: the job ends with MPI_Abort (vp_mpi_end) */
    memset(h, 0, sizeof *h);
    if ((size_t)n >= sizeof *h) memcpy(h, buf, sizeof *h);
    *len = (size_t)n > sizeof *h ? (size_t)n - sizeof *h : 0;
    memmove(buf, buf + ((size_t)n >= sizeof *h ? sizeof *h : (size_t)n), *len);
    buf[*len] = '\0';
    *payload = buf;
    return 1;
}

/* ---- the engine: one run at a time on its own thread, fragments into a buffer ---- */
typedef struct {
    vp_frag_sink sink;     /* first: the sink is the engine */
    vp_job job;            /* the rank's job, with the sink and its own sums */
    vp_worker w;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int run, group;        /* assigned; run -1: idle */
    int done, quit;        /* the assigned run has finished; the thread is to end */
    vp_status st;          /* the run's outcome, draws made */
    int drew;
    vp_err err;
    char *blob;            /* the fragments: "ext\0" u64 length, bytes; the marker last */
    size_t blen, bcap;
} engine;

static vp_status sink_put(vp_frag_sink *self, int r, const char *ext, const char *buf, size_t len, vp_err *err)
{
    (void)r;
    engine *en = (engine *)self;
    size_t el = strlen(ext) + 1, need = en->blen + el + 8 + len;
    if (need > en->bcap) {
        size_t cap = need * 2;
        char *b = realloc(en->blob, cap);
        if (!b) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        en->blob = b;
        en->bcap = cap;
    }
    unsigned long long l = len;
    memcpy(en->blob + en->blen, ext, el);
    memcpy(en->blob + en->blen + el, &l, 8);
    memcpy(en->blob + en->blen + el + 8, buf, len);
    en->blen = need;
    return VP_OK;
}

static void *engine_main(void *arg)
{
    engine *en = arg;
    for (;;) {
        pthread_mutex_lock(&en->mu);
        while (!en->quit && (en->run < 0 || en->done)) pthread_cond_wait(&en->cv, &en->mu);
        int r = en->run, g = en->group, quit = en->quit;
        pthread_mutex_unlock(&en->mu);
        if (quit) break;
        en->blen = 0;
        vp_job *j = &en->job;
        vp_status s = vp_run_one(j, r, &en->w, !j->o->no_share && en->w.net_group == g, &en->drew, &en->err);
        en->w.net_group = !s && vp_share_params(&j->e->variants[r / j->e->nseeds]) ? g : -1;
        if (s) en->w.x_ok = 0;
        pthread_mutex_lock(&en->mu);
        en->st = s;
        en->done = 1;
        pthread_mutex_unlock(&en->mu);
    }
    return NULL;
}

static vp_status engine_start(engine *en, const vp_job *j, vp_err *err)
{
    memset(en, 0, sizeof *en);
    en->sink.put = sink_put;
    en->job = *j;
    en->job.sink = &en->sink;
    pthread_mutex_init(&en->job.lock, NULL); /* its own (theory notes), not a copy of j's */
    en->job.sums = calloc((size_t)vp_experiment_runs(j->e), sizeof *en->job.sums);
    en->run = -1;
    vp_worker_init(&en->w);
    pthread_mutex_init(&en->mu, NULL);
    pthread_cond_init(&en->cv, NULL);
    if (!en->job.sums || pthread_create(&en->tid, NULL, engine_main, en) != 0) {
        free(en->job.sums);
        return vp_fail(err, VP_ERR_NOMEM, "cannot start a thread");
    }
    return VP_OK;
}

static void engine_assign(engine *en, int r, int g)
{
    pthread_mutex_lock(&en->mu);
    en->run = r;
    en->group = g;
    en->done = 0;
    pthread_cond_signal(&en->cv);
    pthread_mutex_unlock(&en->mu);
}

/* 1 when the assigned run has finished (then run stays set until engine_idle). */
static int engine_finished(engine *en)
{
    pthread_mutex_lock(&en->mu);
    int d = en->run >= 0 && en->done;
    pthread_mutex_unlock(&en->mu);
    return d;
}

static void engine_idle(engine *en)
{
    pthread_mutex_lock(&en->mu);
    en->run = -1;
    pthread_mutex_unlock(&en->mu);
}

/* Ends the thread after its run in progress. */
static void engine_stop(engine *en)
{
    pthread_mutex_lock(&en->mu);
    en->quit = 1;
    pthread_cond_signal(&en->cv);
    pthread_mutex_unlock(&en->mu);
    pthread_join(en->tid, NULL);
    pthread_mutex_destroy(&en->mu);
    pthread_cond_destroy(&en->cv);
    pthread_mutex_destroy(&en->job.lock);
    vp_worker_release(&en->w);
    free(en->job.sums);
    free(en->blob);
}

/* ---- rank 0 ---- */

/* Write the fragments of run r from a blob and check them as --resume does (which
 * fills j->sums[r]). */
static vp_status deliver(vp_job *j, int r, const char *blob, size_t len, vp_err *err)
{
    for (size_t off = 0; off < len;) {
        const char *ext = blob + off;
        size_t el = strnlen(ext, len - off) + 1;
        unsigned long long n;
        if (off + el + 8 > len) return vp_fail(err, VP_ERR_DATA, "run %d: a damaged message", r);
        memcpy(&n, blob + off + el, 8);
        if (n > len - off - el - 8) return vp_fail(err, VP_ERR_DATA, "run %d: a damaged message", r);
        vp_status s = vp_frag_put(j, r, ext, blob + off + el + 8, (size_t)n, err);
        if (s) return s;
        off += el + 8 + (size_t)n;
    }
    char why[512] = "";
    if (vp_frag_load_done(j, r, why, sizeof why) != 1)
        return vp_fail(err, VP_ERR_DATA, "run %d: its fragments fail their check: %s", r, why);
    return VP_OK;
}

typedef struct {
    int held, group;    /* run in progress (-1 none) and the group of the last run */
    double heard;       /* when rank 0 last heard from it (vp_job_now) */
    int spoke;          /* it has sent something (before that it may still load its data) */
    int lost;           /* counted as lost (silent too long, or unreachable): told nothing more */
    char who[160];      /* "rank N (host H, pid P)" */
} rank_state;

/* "run R (variant V, seed S)", or "no run" for r < 0. */
static void run_text(const vp_job *j, int r, char *buf, size_t len)
{
    if (r < 0) snprintf(buf, len, "no run");
    else snprintf(buf, len, "run %d (variant %d, seed %llu)", r, r / j->e->nseeds,
                  (unsigned long long)j->e->seeds[r % j->e->nseeds]);
}

/* Rank i is lost while the others work (mpirun --enable-recovery keeps the job alive
 * when a rank dies): it is told nothing more, its run is left for --resume, and the job
 * ends with MPI_Abort (vp_mpi_end), since MPI_Finalize would wait for it. */
static void lose(vp_job *j, vp_mpi *m, rank_state *rs, int i, const char *why)
{
    char what[160];
    rs[i].lost = 1;
    m->released[i] = 1;
    m->lost = 1;
    run_text(j, rs[i].held, what, sizeof what);
    if (j->o->log)
        fprintf(j->o->log, "varprop: %s %s (it died or hangs); it held %s, left for --resume; the other ranks go on\n",
                rs[i].who, why, what);
}

static void fail_job(vp_job *j, vp_status s, const char *who, const char *msg)
{
    pthread_mutex_lock(&j->lock);
    if (!j->status) j->status = vp_fail(&j->err, s, "%s: %s", who, msg);
    pthread_mutex_unlock(&j->lock);
}

static int job_failed(vp_job *j)
{
    pthread_mutex_lock(&j->lock);
    int f = j->status != VP_OK;
    pthread_mutex_unlock(&j->lock);
    return f;
}

/* ---- rank 0's writers ----
 * Writing a run's fragments costs a few fsyncs (each fragment is synced before the
 * marker that vouches for it): about 2 ms a run on a VM disk, which one thread would
 * make the bound of the whole job (1 / 2 ms = 500 runs/s for every rank together). So
 * rank 0 queues each run's bytes and WRITERS threads write and check them, their syncs
 * overlapping; the main thread meanwhile answers the ranks. */
#define WRITERS 4

typedef struct item {
    struct item *next;
    int r;
    char *blob;            /* owned */
    size_t len;
    char who[160];
} item;

typedef struct {
    vp_job *j;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    item *head, *tail;
    int busy, quit, n;
    pthread_t tid[WRITERS];
} writers;

static void *writer_main(void *arg)
{
    writers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->quit) pthread_cond_wait(&w->work, &w->mu);
        item *it = w->head;
        if (it) {
            w->head = it->next;
            if (!w->head) w->tail = NULL;
            w->busy++;
        }
        pthread_mutex_unlock(&w->mu);
        if (!it) break;
        vp_err e;
        if (deliver(w->j, it->r, it->blob, it->len, &e)) {
            fail_job(w->j, VP_ERR_IO, it->who, e.msg);
        } else {
            pthread_mutex_lock(&w->j->lock);
            w->j->finished++;
            pthread_mutex_unlock(&w->j->lock);
        }
        free(it->blob);
        free(it);
        pthread_mutex_lock(&w->mu);
        w->busy--;
        pthread_cond_broadcast(&w->idle);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

static void writers_start(writers *w, vp_job *j)
{
    memset(w, 0, sizeof *w);
    w->j = j;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->idle, NULL);
    for (int i = 0; i < WRITERS; i++)
        if (pthread_create(&w->tid[w->n], NULL, writer_main, w) == 0) w->n++;
}

/* Queue run r's bytes (blob: taken over; NULL with len 0 is an allocation that failed). */
static void writers_put(writers *w, int r, char *blob, size_t len, const char *who)
{
    item *it = malloc(sizeof *it);
    if (!it || (!blob && len) || !w->n) {
        free(it);
        free(blob);
        fail_job(w->j, VP_ERR_NOMEM, who, w->n ? "out of memory" : "cannot start a thread");
        return;
    }
    *it = (item){ .next = NULL, .r = r, .blob = blob, .len = len };
    snprintf(it->who, sizeof it->who, "%s", who);
    pthread_mutex_lock(&w->mu);
    if (w->tail) w->tail->next = it;
    else w->head = it;
    w->tail = it;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

/* Wait until every queued run is written. */
static void writers_drain(writers *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->head || w->busy) pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void writers_stop(writers *w)
{
    writers_drain(w);
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n; i++) pthread_join(w->tid[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->idle);
}

static char *memdup(const char *p, size_t n)
{
    char *q = malloc(n ? n : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

/* Give rank i (>0) its next run, or tell it there is none. */
static void give(vp_job *j, vp_mpi *m, rank_state *rs, int i, int stopping)
{
    int r = stopping ? -1 : vp_job_next(j, &rs[i].group);
    rs[i].held = r;
    if (send_down(i, r < 0 ? K_NOMORE : K_ASSIGN, r, rs[i].group) != 0) lose(j, m, rs, i, "cannot be reached");
    if (r < 0) m->released[i] = 1;
}

/* The first signal: every rank is asked what it holds; the answers (or their absence)
 * are reported with the runs in progress. */
static void abort_round(vp_job *j, vp_mpi *m, rank_state *rs, writers *wr)
{
    FILE *log = j->o->log;
    for (int i = 1; i < m->size; i++)
        if (!m->released[i]) send_down(i, K_ABORT, -1, -1);
    double t0 = vp_job_now();
    int waiting = 1;
    while (waiting && vp_job_now() - t0 < ABORT_WAIT) {
        int from;
        up_head h;
        char *p;
        size_t len;
        for (int got; (got = recv_up(&from, &h, &p, &len, ABORT_WAIT)) != 0;) {
            if (got < 0) continue; /* stopped mid-message: stays unanswered */
            if (h.kind == K_DONE && !h.status) {
                writers_put(wr, h.run, p, len, rs[from].who);
                rs[from].held = -1;
                p = NULL;
            }
            if (h.kind == K_HELD) m->released[from] = 1;
            free(p);
        }
        waiting = 0;
        for (int i = 1; i < m->size; i++) waiting |= !m->released[i];
        if (waiting) nap();
    }
    writers_drain(wr); /* the runs that came back are written before anything is said */
    for (int i = 0; i < m->size; i++) {
        int silent = i > 0 && !m->released[i];
        m->lost |= silent;
        if (!log || rs[i].lost || (rs[i].held < 0 && !silent)) continue; /* a lost rank was reported */
        char what[160];
        run_text(j, rs[i].held, what, sizeof what);
        if (silent)
            fprintf(log, "varprop: %s did not answer (it died or hangs); it held %s\n", rs[i].who, what);
        else
            fprintf(log, "varprop: %s stopped with %s in progress\n", rs[i].who, what);
    }
    for (int i = 1; i < m->size; i++) m->released[i] = 1; /* a dead rank answers nothing more */
}

void vp_mpi_serve(vp_job *j)
{
    vp_mpi *m = j->o->mpi;
    engine en;
    writers wr;
    rank_state *rs = calloc((size_t)m->size, sizeof *rs);
    vp_err e;
    m->worked = 1;
    if (!rs) { fail_job(j, VP_ERR_NOMEM, "rank 0", "out of memory"); return; }
    if (engine_start(&en, j, &e)) {
        fail_job(j, VP_ERR_NOMEM, "rank 0", e.msg);
        free(rs);
        return;
    }
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    for (int i = 0; i < m->size; i++) {
        rs[i].held = -1;
        rs[i].group = -1;
        rs[i].heard = vp_job_now();
        if (i) snprintf(rs[i].who, sizeof rs[i].who, "rank %d", i);
        else snprintf(rs[i].who, sizeof rs[i].who, "rank 0 (host %s, pid %ld)", host, (long)getpid());
    }
    int local_done = 0;
    writers_start(&wr, j);
    for (;;) {
        int busy = 0;
        if (j->o->stop && *j->o->stop) {
            abort_round(j, m, rs, &wr);
            break;
        }
        /* rank 0's own engine */
        if (rs[0].held >= 0 && engine_finished(&en)) {
            j->draws += en.drew;
            if (en.st) fail_job(j, en.st, "rank 0", en.err.msg);
            else writers_put(&wr, rs[0].held, memdup(en.blob, en.blen), en.blen, rs[0].who);
            rs[0].held = -1;
            engine_idle(&en);
            busy = 1;
        }
        if (rs[0].held < 0 && !local_done) {
            int r = job_failed(j) ? -1 : vp_job_next(j, &rs[0].group);
            if (r < 0) local_done = 1;
            else { rs[0].held = r; engine_assign(&en, r, rs[0].group); }
        }
        /* the other ranks */
        int from;
        up_head h;
        char *p;
        size_t len;
        for (int got; (got = recv_up(&from, &h, &p, &len, m->silence)) != 0;) {
            busy = 1;
            if (got < 0) {
                if (!rs[from].lost) lose(j, m, rs, from, "stopped in the middle of a message");
                continue;
            }
            rs[from].heard = vp_job_now();
            rs[from].spoke = 1;
            if (rs[from].lost || h.kind == K_BEAT) { /* too late (reported, its run left), or alive */
                free(p);
                continue;
            }
            if (h.kind == K_READY) {
                snprintf(rs[from].who, sizeof rs[from].who, "rank %d (%s)", from, p);
            } else if (h.kind == K_DONE) {
                j->draws += h.draws;
                writers_put(&wr, h.run, p, len, rs[from].who); /* after the answer below */
                p = NULL;
            } else if (h.kind == K_FAIL) {
                fail_job(j, h.status > 0 && h.status < VP_STATUS_COUNT ? (vp_status)h.status : VP_ERR_IO,
                         rs[from].who, p);
            }
            free(p);
            if (h.kind != K_HELD) give(j, m, rs, from, job_failed(j));
        }
        /* a rank silent for too long is lost: under mpirun's default a dead rank ends the
         * job (the signal above), under --enable-recovery only this notices it. One that
         * has not spoken yet may still be reading its config and data: STARTUP x longer */
        double now = vp_job_now();
        for (int i = 1; i < m->size; i++)
            if (!m->released[i] && now - rs[i].heard > m->silence * (rs[i].spoke ? 1 : STARTUP)) {
                char why[80];
                snprintf(why, sizeof why, "has been silent for %.0f s", now - rs[i].heard);
                lose(j, m, rs, i, why);
            }
        int all = local_done && rs[0].held < 0;
        for (int i = 1; i < m->size; i++) all &= m->released[i];
        if (all) break;
        if (!busy) nap();
    }
    engine_stop(&en);
    writers_stop(&wr);
    free(rs);
}

/* ---- the other ranks ---- */

vp_status vp_mpi_work(vp_job *j, vp_err *err)
{
    vp_mpi *m = j->o->mpi;
    engine en;
    char hello[160], host[64] = "?";
    m->worked = 1;
    gethostname(host, sizeof host - 1);
    snprintf(hello, sizeof hello, "host %s, pid %ld", host, (long)getpid());
    vp_status s = engine_start(&en, j, err);
    if (s) {
        send_up(K_FAIL, -1, s, 0, err->msg, strlen(err->msg) + 1);
        s = VP_OK;
    } else if (send_up(K_READY, -1, VP_OK, 0, hello, strlen(hello) + 1)) {
        engine_stop(&en);
        return vp_fail(err, VP_ERR_IO, "cannot reach rank 0");
    }
    int running = 0, ok = !s;
    double beat = vp_job_now();
    for (;;) {
        int busy = 0;
        if (vp_job_now() - beat >= BEAT_EVERY) { /* alive: rank 0 counts a silent rank as lost */
            send_up(K_BEAT, running ? en.run : -1, VP_OK, 0, NULL, 0);
            beat = vp_job_now();
        }
        if (ok && running && engine_finished(&en)) {
            if (en.st) send_up(K_FAIL, en.run, en.st, en.drew, en.err.msg, strlen(en.err.msg) + 1);
            else send_up(K_DONE, en.run, VP_OK, en.drew, en.blob, en.blen);
            engine_idle(&en);
            running = 0;
            busy = 1;
        }
        int flag = 0, msg[3];
        if (MPI_Iprobe(0, VP_MPI_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
        if (flag) {
            MPI_Recv(msg, 3, MPI_INT, 0, VP_MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            busy = 1;
            if (msg[0] == K_ASSIGN && ok) {
                engine_assign(&en, msg[1], msg[2]);
                running = 1;
            } else if (msg[0] == K_ABORT) {
                send_up(K_HELD, running ? en.run : -1, VP_OK, 0, NULL, 0);
                break;
            } else {
                break; /* NOMORE */
            }
        }
        if (!busy) nap();
    }
    if (ok) engine_stop(&en);
    return VP_OK;
}

void vp_mpi_end(vp_mpi *m, vp_status s, const vp_err *err)
{
    if (!m) return;
    if (m->rank != 0 && !m->worked) {
        /* failed before it worked: say so to rank 0, then wait to be released */
        const char *msg = s && err ? err->msg : "stopped before it started";
        int msgin[3], ok = send_up(K_FAIL, -1, s ? s : VP_ERR_IO, 0, msg, strlen(msg) + 1) == 0;
        int flag = 0;
        while (ok && MPI_Iprobe(0, VP_MPI_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag) nap();
        if (ok && flag) MPI_Recv(msgin, 3, MPI_INT, 0, VP_MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (m->rank == 0) {
        /* release every rank still waiting for an answer (rank 0 stopped before it served) */
        for (;;) {
            int all = 1, from;
            for (int i = 1; i < m->size; i++) all &= m->released[i];
            if (all) break;
            up_head h;
            char *p;
            size_t len;
            int got = recv_up(&from, &h, &p, &len, m->silence);
            if (!got) { nap(); continue; }
            if (got < 0) { /* stopped mid-message: gone */
                m->released[from] = m->lost = 1;
                continue;
            }
            free(p);
            if (h.kind != K_HELD) send_down(from, K_NOMORE, -1, -1);
            m->released[from] = 1;
        }
    }
    int lost = m->lost;
    free(m->released);
    free(m);
    if (lost) { /* a dead rank never reaches MPI_Finalize's barrier: end the job */
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 130);
    }
    MPI_Finalize();
}

#endif
