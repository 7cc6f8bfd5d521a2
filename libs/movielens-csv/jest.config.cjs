module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movielens-csv',
  rootDir: __dirname,
};
