/* Test helper for app_window.rs: what a window manager would do to the app's window under Xvfb
 * (which has none). Built by the test with the system C compiler and libX11 (the headers come
 * with libwebkit2gtk-4.1-dev), so the Rust tests need no unsafe FFI.
 *   xwin find NAME               the id of the top-level window titled NAME (exit 1: none)
 *   xwin geometry ID             WIDTHxHEIGHT+X+Y of the window, relative to the screen
 *   xwin resize ID X Y W H       moves and resizes it
 *   xwin close ID                asks it to close (WM_DELETE_WINDOW), as a title bar's × does */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Window find(Display *d, Window w, const char *name) {
  char *title = NULL;
  if (XFetchName(d, w, &title) && title) {
    int same = strcmp(title, name) == 0;
    XFree(title);
    if (same) return w;
  }
  Window root, parent, *kids = NULL, found = 0;
  unsigned n = 0;
  if (XQueryTree(d, w, &root, &parent, &kids, &n)) {
    for (unsigned i = 0; i < n && !found; i++) found = find(d, kids[i], name);
    if (kids) XFree(kids);
  }
  return found;
}

int main(int argc, char **argv) {
  Display *d = XOpenDisplay(NULL);
  if (!d || argc < 3) return 2;
  if (!strcmp(argv[1], "find")) {
    Window w = find(d, DefaultRootWindow(d), argv[2]);
    if (!w) return 1;
    printf("0x%lx\n", w);
    return 0;
  }
  Window w = strtoul(argv[2], NULL, 0);
  if (!strcmp(argv[1], "geometry")) {
    XWindowAttributes a;
    Window child;
    int x, y;
    if (!XGetWindowAttributes(d, w, &a)) return 1;
    XTranslateCoordinates(d, w, DefaultRootWindow(d), 0, 0, &x, &y, &child);
    printf("%dx%d+%d+%d\n", a.width, a.height, x, y);
  } else if (!strcmp(argv[1], "resize") && argc == 7) {
    XMoveResizeWindow(d, w, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  } else if (!strcmp(argv[1], "close")) {
    XEvent e;
    memset(&e, 0, sizeof e);
    e.xclient.type = ClientMessage;
    e.xclient.window = w;
    e.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
    e.xclient.format = 32;
    e.xclient.data.l[0] = XInternAtom(d, "WM_DELETE_WINDOW", False);
    e.xclient.data.l[1] = CurrentTime;
    XSendEvent(d, w, False, NoEventMask, &e);
  } else {
    return 2;
  }
  XSync(d, False);
  XCloseDisplay(d);
  return 0;
}
