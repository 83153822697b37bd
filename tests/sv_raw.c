/* sv_raw.c: a test helper (not a test) for the run server's scripts: connects to a Unix socket,
 * sends standard input as it is (framed or not), then prints every line that comes back until the
 * server closes or SECONDS pass. --half-close shuts the sending side after the input (a truncated
 * frame then ends the stream); --hang stops reading after the input and waits to be killed (a
 * client that stalls or dies mid-frame). Exit 0, or 1 when the connection failed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int half = 0, hang = 0;
    double seconds = 3;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--half-close"))
            half = 1;
        else if (!strcmp(argv[i], "--hang"))
            hang = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: sv_raw [--half-close] [--hang] [--seconds S] SOCKET < input\n");
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "sv_raw: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buf[65536];
    ssize_t k;
    while ((k = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < k;) {
            ssize_t w = send(fd, buf + off, (size_t)(k - off), MSG_NOSIGNAL);
            if (w <= 0) {
                fprintf(stderr, "sv_raw: send: %s\n", strerror(errno));
                return 1;
            }
            off += w;
        }
    }
    if (hang) {
        printf("sent\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (half)
        shutdown(fd, SHUT_WR);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double left = seconds - ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9);
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0)
            break;
        fwrite(buf, 1, (size_t)k, stdout);
    }
    fflush(stdout);
    close(fd);
    return 0;
}
