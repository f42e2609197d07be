// pacer: the paced (open-loop) HTTP/1.1 load generator of bench/lib/paced-load.ts, in C.
//
// Why: the Node generator's own stalls are part of every latency it reports. In the
// quiet runs its timer was late by up to 10–19 ms and its event loop stalled up to
// 20 ms (GC, JIT, a timer per request), and the node:http floor it measured had a
// p99.9 of 6–10 ms: a floor above the goal (p99.9 ≤ 5 ms) cannot show the goal met.
// This one has no GC and no event loop of its own: one thread, epoll, and a
// timerfd armed at the next request's slot.
//
// Same model as pacedLoad: request i is due at t0 + i/rate; it is sent on a free
// kept-alive connection, or waits for one (the wait counts); one request in flight
// per connection; an answer is complete at Content-Length bytes of body; a
// `Connection: close` answer reopens its connection.
//
//   pacer <host> <port> <rate> <seconds> <connections> <requests file> <results file>
//
// requests file: for each request, a little-endian uint32 length and the raw bytes;
// request i sends entry i mod count. results file: one record per answer, in the
// order they came: uint32 request index, uint32 status, then doubles: latency (ms,
// from the moment the generator sent or queued it), lateness (ms, how late after
// its slot the generator saw it), slot (ms since t0), read lag (ms from the kernel's
// receive timestamp of the answer's last bytes, SO_TIMESTAMPNS, to the generator's
// read of them: the generator's own delay that the latency includes; 0 when the
// kernel gave no timestamp). stdout: one JSON line (counts, lateness, the longest
// gap between two wake-ups while requests were due).

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  long busy;          /* request index in flight, -1 when free */
  double sent_ms;     /* when it was sent or queued (ms since t0) */
  double late_ms;
  double slot_ms;
  double arrived_ms;  /* kernel receive time of the last bytes read (ms since t0), or -1 */
  char *buf;
  size_t len, cap;
} Conn;

typedef struct {
  uint32_t index, status;
  double latency_ms, late_ms, slot_ms, read_lag_ms;
} Result;

static struct sockaddr_in addr;
static int ep;
static double t0;
/* CLOCK_REALTIME minus CLOCK_MONOTONIC (ms): the kernel's receive timestamps are in the former. */
static double realtime_offset;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  perror(what);
  exit(3);
}

static int open_conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  return fd;
}

static void watch(Conn *c, long i) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
}

static void reopen(Conn *c, long i) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = open_conn();
  c->len = 0;
  watch(c, i);
}

/* Writes the whole request (small: the socket's buffer is empty, one request in flight). */
static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The value of header `name` (lower case, with the colon) in head[0, end), or -1. */
static long header_number(const char *head, size_t end, const char *name) {
  size_t k = strlen(name);
  for (size_t i = 0; i + k <= end; i++) {
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, k) == 0) {
      const char *v = head + i + k;
      while (*v == ' ') v++;
      return strtol(v, NULL, 10);
    }
  }
  return -1;
}

static int header_has(const char *head, size_t end, const char *line) {
  size_t k = strlen(line);
  for (size_t i = 0; i + k <= end; i++)
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, line, k) == 0) return 1;
  return 0;
}

/* read() that also gives the kernel's receive time of the bytes read (ms since t0; -1 when it gave none). */
static ssize_t read_stamped(int fd, char *buf, size_t n, double *arrived) {
  struct iovec iov = {.iov_base = buf, .iov_len = n};
  char control[CMSG_SPACE(sizeof(struct timespec))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t r = recvmsg(fd, &msg, 0);
  *arrived = -1;
  if (r > 0) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        *arrived = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 - realtime_offset - t0;
      }
    }
  }
  return r;
}

static const char *find_head_end(const char *b, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++)
    if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return b + i;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: pacer <host> <port> <rate> <seconds> <connections> <requests file> <results file>\n");
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) die("host");
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  int nconn = atoi(argv[5]);
  long total = (long)(rate * seconds);
  double interval = 1000.0 / rate;

  /* the requests */
  FILE *rf = fopen(argv[6], "rb");
  if (!rf) die("requests file");
  fseek(rf, 0, SEEK_END);
  long size = ftell(rf);
  fseek(rf, 0, SEEK_SET);
  char *data = malloc((size_t)size);
  if (fread(data, 1, (size_t)size, rf) != (size_t)size) die("read requests");
  fclose(rf);
  long nreq = 0;
  for (long at = 0; at + 4 <= size; nreq++) at += 4 + *(uint32_t *)(data + at);
  char **req = malloc(sizeof(char *) * (size_t)nreq);
  uint32_t *reqlen = malloc(sizeof(uint32_t) * (size_t)nreq);
  for (long at = 0, i = 0; i < nreq; i++) {
    reqlen[i] = *(uint32_t *)(data + at);
    req[i] = data + at + 4;
    at += 4 + reqlen[i];
  }
  if (nreq == 0) {
    fprintf(stderr, "no requests\n");
    return 2;
  }

  Result *results = calloc((size_t)total + 1, sizeof(Result));
  long *queue = malloc(sizeof(long) * ((size_t)total + 1));
  double *queued_at = malloc(sizeof(double) * ((size_t)total + 1));
  double *queued_late = malloc(sizeof(double) * ((size_t)total + 1));
  long qhead = 0, qtail = 0, queued = 0;

  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  Conn *conns = calloc((size_t)nconn, sizeof(Conn));
  for (long i = 0; i < nconn; i++) {
    conns[i].fd = open_conn();
    conns[i].busy = -1;
    conns[i].cap = 1 << 16;
    conns[i].buf = malloc(conns[i].cap);
    watch(&conns[i], i);
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  if (tfd < 0) die("timerfd_create");
  struct epoll_event tev = {.events = EPOLLIN, .data.u64 = (uint64_t)-1};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  long next = 0, answered = 0, errors = 0;
  double late_max = 0, gap_max = 0;
  t0 = now_ms() + 5; /* a moment to settle */
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  double t0_epoch = rt.tv_sec * 1e3 + rt.tv_nsec / 1e6 + 5;
  realtime_offset = t0_epoch - t0;
  double deadline = t0 + seconds * 1000 + 30000;
  double last_wake = t0;
  struct epoll_event evs[64];

  while (answered + errors < total) {
    double now = now_ms();
    if (now > deadline) {
      errors = total - answered;
      break;
    }
    if (next < total && now >= t0) {
      if (now - last_wake > gap_max) gap_max = now - last_wake;
    }
    last_wake = now;
    /* every request now due: to a free connection, else to the queue */
    while (next < total && t0 + next * interval <= now) {
      double late = now - (t0 + next * interval);
      if (late > late_max) late_max = late;
      Conn *free_conn = NULL;
      for (long i = 0; i < nconn; i++)
        if (conns[i].busy < 0) {
          free_conn = &conns[i];
          break;
        }
      if (free_conn) {
        long k = next % nreq;
        free_conn->busy = next;
        free_conn->sent_ms = now - t0;
        free_conn->late_ms = late;
        free_conn->slot_ms = next * interval;
        if (send_all(free_conn->fd, req[k], reqlen[k]) < 0) {
          errors++;
          free_conn->busy = -1;
          reopen(free_conn, free_conn - conns);
        }
      } else {
        queue[qtail] = next;
        queued_at[qtail] = now - t0;
        queued_late[qtail] = late;
        qtail++;
        queued++;
      }
      next++;
    }
    if (next < total) {
      double due = t0 + next * interval;
      struct itimerspec its = {0};
      /* CLOCK_MONOTONIC absolute: now_ms is in the same clock */
      its.it_value.tv_sec = (time_t)(due / 1000);
      its.it_value.tv_nsec = (long)((due - its.it_value.tv_sec * 1000.0) * 1e6);
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(ep, evs, 64, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      if (evs[e].data.u64 == (uint64_t)-1) {
        uint64_t x;
        if (read(tfd, &x, sizeof x) < 0 && errno != EAGAIN) die("timerfd read");
        continue;
      }
      long ci = (long)evs[e].data.u64;
      Conn *c = &conns[ci];
      if (c->cap - c->len < 4096) {
        c->cap *= 2;
        c->buf = realloc(c->buf, c->cap);
      }
      double arrived;
      ssize_t r = read_stamped(c->fd, c->buf + c->len, c->cap - c->len, &arrived);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (c->busy >= 0) errors++;
        c->busy = -1;
        reopen(c, ci);
      } else {
        c->len += (size_t)r;
        c->arrived_ms = arrived;
        const char *he = find_head_end(c->buf, c->len);
        if (!he) continue;
        size_t head = (size_t)(he - c->buf);
        long clen = header_number(c->buf, head, "content-length:");
        if (clen < 0) clen = 0;
        if (c->len < head + 4 + (size_t)clen) continue;
        double t = now_ms() - t0;
        int status = (c->buf[9] - '0') * 100 + (c->buf[10] - '0') * 10 + (c->buf[11] - '0');
        int closing = header_has(c->buf, head, "connection: close");
        if (c->busy >= 0) {
          Result *res = &results[answered++];
          res->index = (uint32_t)c->busy;
          res->status = (uint32_t)status;
          res->latency_ms = t - c->sent_ms;
          res->late_ms = c->late_ms;
          res->slot_ms = c->slot_ms;
          res->read_lag_ms = c->arrived_ms < 0 || c->arrived_ms > t ? 0 : t - c->arrived_ms;
        }
        size_t used = head + 4 + (size_t)clen;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        c->busy = -1;
        if (closing) reopen(c, ci);
      }
      /* a free connection takes the oldest queued request */
      if (c->busy < 0 && qhead < qtail) {
        long idx = queue[qhead];
        long k = idx % nreq;
        c->busy = idx;
        c->sent_ms = queued_at[qhead];
        c->late_ms = queued_late[qhead];
        c->slot_ms = idx * interval;
        qhead++;
        if (send_all(c->fd, req[k], reqlen[k]) < 0) {
          errors++;
          c->busy = -1;
          reopen(c, ci);
        }
      }
    }
  }
  double elapsed = (now_ms() - t0) / 1000;
  FILE *out = fopen(argv[7], "wb");
  if (!out) die("results file");
  for (long i = 0; i < answered; i++) {
    fwrite(&results[i].index, 4, 1, out);
    fwrite(&results[i].status, 4, 1, out);
    fwrite(&results[i].latency_ms, 8, 1, out);
    fwrite(&results[i].late_ms, 8, 1, out);
    fwrite(&results[i].slot_ms, 8, 1, out);
    fwrite(&results[i].read_lag_ms, 8, 1, out);
  }
  fclose(out);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_us = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  printf("{\"cpuUs\":%.0f,\"sent\":%ld,\"answered\":%ld,\"errors\":%ld,\"queued\":%ld,\"lateMs\":%.3f,\"gapMs\":%.3f,\"seconds\":%.3f,\"t0Epoch\":%.3f}\n", cpu_us, next, answered,
         errors, queued, late_max, gap_max, elapsed, t0_epoch);
  return 0;
}
