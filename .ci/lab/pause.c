/* The pod sandbox's placeholder process: holds the pod's namespaces open,
 * reaps orphaned children (it is PID 1 of the pod when the PID namespace is
 * shared) and exits cleanly when the runtime stops the sandbox. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void) sig; _exit(0); }

static void reap(int sig) {
  (void) sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') {
    puts("hello-world-lab pause");
    return 0;
  }
  if (getpid() != 1) fputs("pause: warning: not PID 1, orphans will not be reaped here\n", stderr);
  struct sigaction stopping = { .sa_handler = stop }, reaping = { .sa_handler = reap, .sa_flags = SA_NOCLDSTOP };
  sigaction(SIGINT, &stopping, NULL);
  sigaction(SIGTERM, &stopping, NULL);
  sigaction(SIGCHLD, &reaping, NULL);
  for (;;) pause();
}
