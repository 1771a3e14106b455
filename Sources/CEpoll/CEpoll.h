// Used by SpoolRunner's DescriptorPoller (see there why it does not use dispatch sources).
#include <sys/epoll.h>
