/* lqos-delayline: a fixed one-way delay for bench/accuracy, without netem.
 *
 * Creates a TUN device and holds every packet read from it for DELAY
 * milliseconds before writing it back, in arrival order (the delay is the
 * same for every packet, so order is kept by a FIFO). The caller routes
 * traffic into the device with policy routing (bench/accuracy: everything
 * the router namespace receives from the client and server veths goes to
 * the TUN device; what comes back out of it is routed on by destination),
 * so each direction passes the line once and the round trip grows by
 * twice DELAY.
 *
 * The device is opened with IFF_VNET_HDR and TSO/checksum offloads, so
 * the kernel hands over whole GSO packets (up to 64 KB) instead of
 * 1500-byte segments: at 500 Mbit/s that is about a thousand packets a
 * second each way. Each packet is copied as read (virtio-net header and
 * all) into one ring of BUFFER_MB megabytes and written back unchanged.
 * When the ring is full, a packet is read and dropped (counted); memory
 * never grows beyond the ring.
 *
 * One thread, one poll loop: ppoll() waits for a packet or for the
 * oldest packet's release time, whichever comes first (timer slack set
 * to 1 us). Prints "ready IFNAME" on stdout once the device exists, and
 * a line of counters (key=value) on SIGUSR1 and on SIGTERM/SIGINT, then
 * exits 0.
 *
 * usage: lqos-delayline [-i IFNAME] [-d DELAY_MS] [-b BUFFER_MB] [-p RTPRIO]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* UDP segmentation offload flags (linux/if_tun.h from 6.2 on). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* Largest packet the device can hand over: a 64 KB GSO packet plus the
 * virtio-net header. */
#define MAX_PACKET (65536 + 256)
#define WRAP_MARK UINT32_MAX

struct record {
	int64_t due_ns; /* CLOCK_MONOTONIC time to write the packet back */
	uint32_t len; /* bytes of packet data after this header, or WRAP_MARK */
	uint32_t pad;
};

struct ring {
	unsigned char *buf;
	size_t cap; /* bytes, a multiple of 8 */
	size_t head; /* oldest record */
	size_t tail; /* where the next record goes */
	size_t count; /* records queued */
	size_t queued; /* bytes queued, headers and padding included */
};

struct stats {
	unsigned long long in_packets, in_bytes;
	unsigned long long out_packets, out_bytes;
	unsigned long long dropped_full, write_errors;
	unsigned long long late_over_1ms;
	long long late_max_us;
	long long late_max_us_since; /* since the last report */
	size_t max_queued;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_report(int sig)
{
	(void)sig;
	report_requested = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t record_size(uint32_t len)
{
	return (sizeof(struct record) + len + 7) & ~(size_t)7;
}

/* Where a packet of up to MAX_PACKET bytes can be read into, or NULL
 * when the ring has no room. Writes a wrap mark when the room is at the
 * start of the buffer. */
static struct record *ring_reserve(struct ring *r)
{
	size_t need = record_size(MAX_PACKET);

	if (r->count == 0)
		r->head = r->tail = 0;
	if (r->tail >= r->head) {
		if (r->cap - r->tail >= need)
			return (struct record *)(r->buf + r->tail);
		/* Wrap; keep tail strictly behind head so that tail == head
		 * only ever means "empty". */
		if (r->head <= need && r->count > 0)
			return NULL;
		if (r->cap - r->tail >= sizeof(struct record)) {
			struct record *mark = (struct record *)(r->buf + r->tail);
			mark->len = WRAP_MARK;
		}
		r->queued += r->cap - r->tail;
		r->tail = 0;
		if (r->count == 0)
			r->head = 0;
	}
	if (r->head - r->tail > need)
		return (struct record *)(r->buf + r->tail);
	return NULL;
}

static void ring_commit(struct ring *r, uint32_t len, int64_t due)
{
	struct record *rec = (struct record *)(r->buf + r->tail);
	size_t size = record_size(len);

	rec->due_ns = due;
	rec->len = len;
	r->tail += size;
	r->queued += size;
	r->count++;
}

/* The oldest record, or NULL when empty; skips a wrap mark. */
static struct record *ring_head(struct ring *r)
{
	struct record *rec;

	if (r->count == 0)
		return NULL;
	if (r->cap - r->head < sizeof(struct record) ||
	    ((struct record *)(r->buf + r->head))->len == WRAP_MARK) {
		r->queued -= r->cap - r->head;
		r->head = 0;
	}
	rec = (struct record *)(r->buf + r->head);
	return rec;
}

static void ring_pop(struct ring *r, const struct record *rec)
{
	size_t size = record_size(rec->len);

	r->head += size;
	r->queued -= size;
	r->count--;
	if (r->count == 0) {
		r->head = r->tail = 0;
		r->queued = 0;
	}
}

static void print_stats(struct stats *s, const struct ring *r, double delay_ms)
{
	printf("delayline: delay_ms=%.3f in_packets=%llu in_bytes=%llu out_packets=%llu "
	       "out_bytes=%llu dropped_full=%llu write_errors=%llu queued_packets=%zu "
	       "max_queued_bytes=%zu late_max_us=%lld late_max_us_since=%lld late_over_1ms=%llu\n",
	       delay_ms, s->in_packets, s->in_bytes, s->out_packets, s->out_bytes, s->dropped_full,
	       s->write_errors, r->count, s->max_queued, s->late_max_us, s->late_max_us_since,
	       s->late_over_1ms);
	fflush(stdout);
	s->late_max_us_since = 0;
}

static int open_tun(const char *name)
{
	struct ifreq ifr;
	unsigned int offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		perror("lqos-delayline: /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("lqos-delayline: TUNSETIFF");
		close(fd);
		return -1;
	}
	/* UDP GSO packets too where the kernel can (6.2 on), else TCP only. */
	if (ioctl(fd, TUNSETOFFLOAD, offload | TUN_F_USO4 | TUN_F_USO6) == 0)
		return fd;
	if (ioctl(fd, TUNSETOFFLOAD, offload) < 0) {
		perror("lqos-delayline: TUNSETOFFLOAD");
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fputs("usage: lqos-delayline [-i IFNAME] [-d DELAY_MS] [-b BUFFER_MB] [-p RTPRIO]\n"
	      "  -i  TUN device to create (default dl0)\n"
	      "  -d  one-way delay in milliseconds, 0-10000 (default 10)\n"
	      "  -b  ring buffer in MB, 1-4096 (default 64)\n"
	      "  -p  run with SCHED_FIFO at this priority, 1-99 (default: normal)\n",
	      stderr);
}

/* Read every packet waiting on FD into the ring (or drop it). */
static int drain_device(int fd, struct ring *r, struct stats *st, unsigned char *scratch,
			int64_t delay_ns)
{
	for (;;) {
		struct record *rec = ring_reserve(r);
		unsigned char *dst = rec ? (unsigned char *)(rec + 1) : scratch;
		ssize_t n = read(fd, dst, MAX_PACKET);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			perror("lqos-delayline: read");
			return -1;
		}
		if (n == 0)
			return 0;
		st->in_packets++;
		st->in_bytes += (unsigned long long)n;
		if (!rec) {
			st->dropped_full++;
			continue;
		}
		ring_commit(r, (uint32_t)n, now_ns() + delay_ns);
		if (r->queued > st->max_queued)
			st->max_queued = r->queued;
	}
}

/* Write back every packet whose time has come; returns the next due time
 * or -1 when the ring is empty. Every RELEASE_BATCH writes it reads what
 * has arrived meanwhile: a write carries the packet through the
 * kernel's forwarding in this thread, and a long run of them must not
 * leave the device's own queue to overflow. */
#define RELEASE_BATCH 16

static int64_t release_due(int fd, struct ring *r, struct stats *st, unsigned char *scratch,
			   int64_t delay_ns)
{
	struct record *rec;
	unsigned int written = 0;

	while ((rec = ring_head(r)) != NULL) {
		int64_t now = now_ns();
		long long late_us;

		if (rec->due_ns > now)
			return rec->due_ns;
		late_us = (now - rec->due_ns) / 1000;
		if (late_us > st->late_max_us)
			st->late_max_us = late_us;
		if (late_us > st->late_max_us_since)
			st->late_max_us_since = late_us;
		if (late_us > 1000)
			st->late_over_1ms++;
		if (write(fd, rec + 1, rec->len) == (ssize_t)rec->len) {
			st->out_packets++;
			st->out_bytes += rec->len;
		} else {
			st->write_errors++;
		}
		ring_pop(r, rec);
		if (++written % RELEASE_BATCH == 0 &&
		    drain_device(fd, r, st, scratch, delay_ns) < 0)
			return -2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *ifname = "dl0";
	double delay_ms = 10, buffer_mb = 64, prio = 0;
	struct ring ring = {0};
	struct stats st = {0};
	unsigned char *scratch = NULL;
	struct sigaction sa;
	int64_t delay_ns;
	int fd = -1, opt, rc = 1;

	while ((opt = getopt(argc, argv, "i:d:b:p:h")) != -1) {
		switch (opt) {
		case 'i':
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "lqos-delayline: bad interface name\n");
				return 2;
			}
			ifname = optarg;
			break;
		case 'd':
			if (parse_number(optarg, 0, 10000, &delay_ms) < 0) {
				fprintf(stderr, "lqos-delayline: -d wants 0-10000 ms\n");
				return 2;
			}
			break;
		case 'b':
			if (parse_number(optarg, 1, 4096, &buffer_mb) < 0) {
				fprintf(stderr, "lqos-delayline: -b wants 1-4096 MB\n");
				return 2;
			}
			break;
		case 'p':
			if (parse_number(optarg, 1, 99, &prio) < 0 || prio != floor(prio)) {
				fprintf(stderr, "lqos-delayline: -p wants 1-99\n");
				return 2;
			}
			break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	delay_ns = (int64_t)llround(delay_ms * 1e6);
	ring.cap = ((size_t)(buffer_mb * 1024 * 1024)) & ~(size_t)7;
	if (ring.cap < 2 * record_size(MAX_PACKET))
		ring.cap = 2 * record_size(MAX_PACKET);
	ring.buf = malloc(ring.cap);
	scratch = malloc(MAX_PACKET);
	if (!ring.buf || !scratch) {
		fprintf(stderr, "lqos-delayline: out of memory\n");
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);

	/* ppoll's timeout is an hrtimer; the default 50 us slack is fine, 1 us
	 * is better for a line that should be exact to well under 1 ms. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (prio > 0) {
		struct sched_param sp = {.sched_priority = (int)prio};

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			perror("lqos-delayline: SCHED_FIFO (continuing without)");
	}

	fd = open_tun(ifname);
	if (fd < 0)
		goto out;
	printf("ready %s\n", ifname);
	fflush(stdout);

	while (!stop_requested) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct timespec ts, *tsp = NULL;
		int64_t due = release_due(fd, &ring, &st, scratch, delay_ns);

		if (report_requested) {
			report_requested = 0;
			print_stats(&st, &ring, delay_ms);
		}
		if (due == -2)
			goto out;
		if (due >= 0) {
			int64_t wait = due - now_ns();

			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			perror("lqos-delayline: ppoll");
			goto out;
		}
		if ((pfd.revents & POLLIN) && drain_device(fd, &ring, &st, scratch, delay_ns) < 0)
			goto out;
	}
	print_stats(&st, &ring, delay_ms);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(ring.buf);
	free(scratch);
	return rc;
}
