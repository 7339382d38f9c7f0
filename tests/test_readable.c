/* mm_os_readable, the host checker's probe (src/os): it says how far memory
 * can be read without reading it, stopping at the first page that cannot
 * be (reserved with no access), and never faults. */
#include <stdint.h>

#include "check.h"
#include "os/os.h"

int main(void)
{
    size_t g = mm_os_granularity(), page = mm_os_page_size();
    void *v = NULL;
    REQUIRE(mm_os_reserve_anywhere(4 * g, g, MM_OS_NOACCESS, &v) == 0);
    uint8_t *r = v;
    REQUIRE(mm_os_commit(r, g) == 0);

    CHECKF(mm_os_readable(r, 100) == 100, "inside a committed page: %zu, want the bound", mm_os_readable(r, 100));
    CHECKF(mm_os_readable(r, 4 * g) == g, "from the start: %zu, want %zu (up to the reserved part)",
           mm_os_readable(r, 4 * g), g);
    CHECKF(mm_os_readable(r + 10, 4 * g) == g - 10, "from inside a page: %zu, want %zu", mm_os_readable(r + 10, 4 * g),
           g - 10);
    CHECKF(mm_os_readable(r + g, 4 * g - g) == 0, "reserved with no access: %zu, want 0", mm_os_readable(r + g, 3 * g));
    CHECKF(mm_os_readable(r + g - 1, 2) == 1, "the last byte before it: %zu, want 1", mm_os_readable(r + g - 1, 2));
    /* A hole between two committed parts ends the readable stretch. */
    REQUIRE(mm_os_commit(r + g + page, page) == 0);
    CHECKF(mm_os_readable(r, 4 * g) == g, "with a part committed past a hole: %zu, want %zu", mm_os_readable(r, 4 * g),
           g);
    CHECKF(mm_os_readable(r + g + page, 4 * g) == page, "that part alone: %zu, want %zu",
           mm_os_readable(r + g + page, 4 * g), page);
    CHECK(mm_os_release(r, 4 * g) == 0);

    /* The probe looks MM_OS_READABLE_PAGES pages far, no further. */
    size_t big = (MM_OS_READABLE_PAGES + 8) * page;
    big = (big + g - 1) / g * g;
    REQUIRE(mm_os_reserve_anywhere(big, g, MM_OS_READWRITE, &v) == 0);
    r = v;
    CHECKF(mm_os_readable(r, big) == MM_OS_READABLE_PAGES * page, "a long readable stretch: %zu, want %zu",
           mm_os_readable(r, big), (size_t)MM_OS_READABLE_PAGES * page);
    CHECKF(mm_os_readable(r + 10, big) == MM_OS_READABLE_PAGES * page - 10, "from inside its first page: %zu",
           mm_os_readable(r + 10, big));
    CHECK(mm_os_release(r, big) == 0);
    return check_done();
}
