/* The interface IDs' values, for the library's public definitions (one object
 * file each) and for its own comparisons, which must not drag those objects
 * into a program that defines the IIDs itself (from the runtime's corguids). */
#ifndef MM_IIDS_H
#define MM_IIDS_H

#define MM_IID_IUNKNOWN_INIT \
    {0x00000000, 0x0000, 0x0000, {0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}}
#define MM_IID_IMETHODMALLOC_INIT \
    {0xA0EFB28B, 0x6EE2, 0x4D7B, {0xB9, 0x83, 0xA7, 0x5E, 0xF7, 0xBE, 0xED, 0xB8}}

#endif
